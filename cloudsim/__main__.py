"""`python -m cloudsim`: run the emulator until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time

from .app import CloudSim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=8440,
        help="first port (login; then graph, admin, ACS...); 0 = free ports",
    )
    parser.add_argument("--data-dir", default="var/cloudsim")
    parser.add_argument("--scenario", default="default", help="default | big | a scenario file")
    parser.add_argument("--reset", action="store_true", help="reseed the state from the scenario")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ROUTE_GLOB:KIND:PROB[:ARG]",
        help="e.g. acs.PUT/access/entra/assignments/*:429:0.1:2 (repeatable)",
    )
    parser.add_argument("--fault-seed", type=int, default=None)
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--redirect-uri", action="append", default=[])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    started = time.monotonic()
    sim = CloudSim(
        args.data_dir,
        scenario=args.scenario,
        host=args.host,
        port=args.port,
        reset=args.reset,
        faults=tuple(args.fault),
        fault_seed=args.fault_seed,
        rate_limits=not args.no_rate_limits,
        redirect_uris=tuple(args.redirect_uri),
        verbose=args.verbose,
    ).start()
    ep = sim.endpoints()
    print(f"cloudsim ready in {time.monotonic() - started:.2f}s (scenario {sim.scenario_name})")
    for key in ("login_url", "graph_base_url", "admin_url", "ca_file"):
        print(f"  {key:15} {ep[key]}")
    for res in ep["acs"]:
        print(f"  acs {res['name']:11} {res['endpoint']}")
    print(f"  portal env      {sim.data_dir / 'portal.env'}")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
