"""
What users see in the Airflow UI, in Debian's headless Chromium driven by its system chromedriver.

Against the distributed cluster's API server (logged in with the auth manager's token): each
connection type's form shows our fields, labels, placeholders and descriptions; a DAG run shows
success; a Stripe operator's "Stripe Dashboard" extra link points at the Stripe Dashboard.
Screenshots go to the artefacts folder ``make test-distributed`` prints.
"""

from __future__ import annotations

import shutil
import tempfile
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_provider_stripe_sync.get_provider_info import get_provider_info
from tests.distributed.conftest import ARTEFACTS, CRM, DAYS, SUMMARY, day_run_id

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Airflow's own labels of the standard fields, shown unless a type hides or relabels them.
STANDARD_LABELS = {
    "host": "Host",
    "schema": "Schema",
    "login": "Login",
    "password": "Password",
    "port": "Port",
}
TIMEOUT = 60

CONNECTION_TYPES = {t["connection-type"]: t for t in get_provider_info()["connection-types"]}
SHOTS: list[str] = []


@pytest.fixture(scope="module")
def browser(cluster, api):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="stripe-sync-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        # The UI reads the auth manager's token from its cookie, as after a login.
        driver.get(cluster.api_url + "/api/v2/monitor/health")
        driver.add_cookie({"name": "_token", "value": api.token, "path": "/"})
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if SHOTS:
            SUMMARY.append(f"browser: {len(SHOTS)} screenshots in {ARTEFACTS}: {', '.join(SHOTS)}")


def wait(driver, condition):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, TIMEOUT, poll_frequency=0.5).until(condition)


def shoot(element, name):
    element.screenshot(str(ARTEFACTS / name))
    SHOTS.append(name)


def visible_labels(dialog):
    from selenium.webdriver.common.by import By

    return [label.text.replace("*", "").strip() for label in dialog.find_elements(By.TAG_NAME, "label")]


def open_add_form(driver, url, conn_type):
    """Open Admin → Connections → Add Connection and choose ``conn_type``; return the dialog."""
    from selenium.webdriver.common.by import By

    driver.get(url + "/connections")
    button = wait(
        driver,
        lambda d: next(
            (b for b in d.find_elements(By.TAG_NAME, "button") if b.text == "Add Connection"), None
        ),
    )
    button.click()
    dialog = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"))
    wait(driver, lambda d: d.find_element(By.NAME, "connection_id")).send_keys(f"{conn_type}_ui_check")
    combo = dialog.find_element(By.CSS_SELECTOR, "input[role=combobox]")
    combo.click()
    name = CONNECTION_TYPES[conn_type]["hook-name"]
    combo.send_keys(name)
    option = wait(
        driver,
        lambda d: next(
            (o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text.strip() == name), None
        ),
    )
    option.click()
    wait(driver, lambda d: "Standard Fields" in dialog.text)
    return dialog


def open_section(driver, dialog, title):
    from selenium.webdriver.common.by import By

    button = next(b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text.strip() == title)
    button.click()


@pytest.mark.parametrize("conn_type", ["stripe", "stripe_oauth", "hubspot", "xero", "mailchimp"])
def test_connection_form_shows_our_fields(browser, cluster, conn_type):
    from selenium.webdriver.common.by import By

    declared = CONNECTION_TYPES[conn_type]
    behaviour = declared["ui-field-behaviour"]
    fields = declared["conn-fields"]
    dialog = open_add_form(browser, cluster.api_url, conn_type)

    # Standard fields: ours relabelled, with our placeholders; the hidden ones absent.
    relabelled = behaviour["relabeling"]
    wait(browser, lambda d: all(label in visible_labels(dialog) for label in relabelled.values()))
    labels = visible_labels(dialog)
    for field_name, default in STANDARD_LABELS.items():
        if field_name in behaviour["hidden-fields"] or field_name in relabelled:
            assert default not in labels, (conn_type, default, labels)
    placeholders = {
        element.get_attribute("placeholder")
        for element in dialog.find_elements(By.CSS_SELECTOR, "input, textarea")
        if element.get_attribute("placeholder")
    }
    assert set(behaviour["placeholders"].values()) <= placeholders, placeholders
    shoot(dialog, f"connection-{conn_type}-standard.png")

    # Extra fields: each of ours with its label and description.
    open_section(browser, dialog, "Extra Fields")
    wait(browser, lambda d: all(f["label"] in visible_labels(dialog) for f in fields.values()))
    text = dialog.text
    for field_name, field in fields.items():
        assert field["description"] in text, (conn_type, field_name)
    shoot(dialog, f"connection-{conn_type}-extra.png")


def test_dag_run_page_shows_success(browser, cluster, api, ran):
    from selenium.webdriver.common.by import By

    run_id = day_run_id(CRM, DAYS[-1])
    assert api.run(CRM, run_id)["state"] == "success"
    browser.get(f"{cluster.api_url}/dags/{CRM}/runs/{run_id}")
    wait(browser, lambda d: "summarize" in d.find_element(By.TAG_NAME, "body").text)
    header = wait(browser, lambda d: d.find_element(By.XPATH, "//*[normalize-space(text())='Success']"))
    assert header.is_displayed()
    body = browser.find_element(By.TAG_NAME, "body").text
    assert run_id in body
    # The run's badge and its task instances' badges: nothing in another state.
    for state in ("Failed", "Running", "Queued", "Up For Retry"):
        assert browser.find_elements(By.XPATH, f"//*[normalize-space(text())='{state}']") == [], state
    shoot(browser.find_element(By.TAG_NAME, "body"), "dag-run-success.png")


def test_stripe_dashboard_extra_link(browser, cluster, api, ran):
    from selenium.webdriver.common.by import By

    run_id = day_run_id(CRM, DAYS[-1])
    browser.get(f"{cluster.api_url}/dags/{CRM}/runs/{run_id}/tasks/list_new_customers/details")
    link = wait(
        browser,
        lambda d: next(
            (a for a in d.find_elements(By.TAG_NAME, "a") if a.text.strip() == "Stripe Dashboard"), None
        ),
    )
    href = link.get_attribute("href")
    served = api.get(f"/dags/{CRM}/dagRuns/{run_id}/taskInstances/list_new_customers/links")["extra_links"]
    assert href == served["Stripe Dashboard"]
    parts = urlsplit(href)
    start = int(DAYS[-1].timestamp())
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "dashboard.stripe.com", "/test/customers")
    assert parse_qs(parts.query) == {"created[gte]": [str(start)], "created[lt]": [str(start + 86400)]}
    shoot(browser.find_element(By.TAG_NAME, "body"), "stripe-dashboard-link.png")
    SUMMARY.append(f"browser: list_new_customers's extra link 'Stripe Dashboard' -> {href}")
