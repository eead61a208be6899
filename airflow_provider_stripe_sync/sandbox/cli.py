"""``stripe-sync-sandbox``: serve the sandbox on a loopback port and print its base URL."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

DEFAULT_DEMO = {"scenario": "demo", "seed": 7, "end": 1793491200, "days": 30, "customers": 2000}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="stripe-sync-sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port (0 picks a free one; default 12111)")
    parser.add_argument("--seed", choices=["demo"], help="seed a scenario before serving")
    parser.add_argument("--demo-seed", type=int, default=7, help="random seed of the demo scenario")
    parser.add_argument("--customers", type=int, default=2000, help="demo customers (default 2000)")
    parser.add_argument("--clock", type=float, help="freeze the sandbox clock at this epoch")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every Stripe answer (default 0)"
    )
    parser.add_argument(
        "--account-rate", type=float, help="Stripe requests/s per account before 429 (default: no limit)"
    )
    parser.add_argument(
        "--endpoint-rate", type=float, help="Stripe requests/s per endpoint before 429 (default: no limit)"
    )
    parser.add_argument(
        "--bulk",
        action="append",
        default=[],
        metavar="RESOURCE=COUNT",
        help="bulk-seed COUNT objects of RESOURCE (customers, charges, subscriptions, "
        "balance_transactions) spread over --bulk-window; repeatable",
    )
    parser.add_argument(
        "--bulk-window",
        default="1790812800:1793491200",
        metavar="START:END",
        help="epoch seconds the bulk objects' created times fall in (default: October 2026)",
    )
    args = parser.parse_args(argv)
    try:
        args.bulk = [(name, int(count)) for name, count in (item.split("=", 1) for item in args.bulk)]
        args.bulk_window = tuple(int(part) for part in args.bulk_window.split(":", 1))
    except ValueError:
        parser.error("--bulk takes RESOURCE=COUNT and --bulk-window START:END, in whole numbers")
    return args


def startup_note(args: argparse.Namespace) -> str | None:
    """
    What to know about the clock when serving the demo data (printed to stderr at start-up).

    The demo data is dated (the 30 days to ``DEFAULT_DEMO["end"]``) and the clock runs in real time
    unless ``--clock`` sets it, so windows over the demo data soon fall outside Stripe's 30-day event
    retention, and List Updated operators refuse them.
    """
    if args.seed != "demo" or args.clock is not None:
        return None
    end = DEFAULT_DEMO["end"]
    start = end - DEFAULT_DEMO["days"] * 86400
    return (
        f"Demo data spans {_day(start)} to {_day(end)} (UTC); the sandbox clock is real time, so List "
        "Updated windows over it fail the 30-day event retention check. Start with "
        f'--clock {end} ({_day(end)}T00:00:00Z), or POST /_sandbox/clock {{"now": {end}}}.'
    )


def _day(epoch: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until interrupted."""
    import uvicorn

    from airflow_provider_stripe_sync.sandbox import seed as seeding
    from airflow_provider_stripe_sync.sandbox.app import Sandbox

    args = parse_args(argv)
    sandbox = Sandbox()
    if args.clock is not None:
        sandbox.state.clock.set(args.clock)
    if args.seed == "demo":
        body = dict(DEFAULT_DEMO, seed=args.demo_seed, customers=args.customers)
        seeding.seed_scenario(sandbox, body)
    start, end = args.bulk_window
    for resource, count in args.bulk:
        seeding.seed_bulk(sandbox, {"resource": resource, "count": count, "start": start, "end": end})
    sandbox.throttle.configure(
        {"latency": args.latency, "account_rate": args.account_rate, "endpoint_rate": args.endpoint_rate}
    )
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"http://{host}:{port}", flush=True)
    note = startup_note(args)
    if note:
        # stderr: the first line of stdout is the URL, which scripts read.
        print(note, file=sys.stderr, flush=True)
    config = uvicorn.Config(
        sandbox.app, log_level="warning", access_log=False, lifespan="off", date_header=False
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
