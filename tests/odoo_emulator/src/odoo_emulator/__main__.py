"""`python -m odoo_emulator --port 8069 --odoo-version 17`: an emulated Odoo, demo database."""

from __future__ import annotations

import argparse
import asyncio
import json

from odoo_emulator.app import create_app
from odoo_emulator.server import EmulatorServer


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m odoo_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8069, help="the Odoo port (default 8069)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--odoo-version", type=int, choices=(16, 17, 18), default=17)
    parser.add_argument(
        "--database",
        action="append",
        dest="databases",
        help="a database to create (repeatable; default demo)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=0,
        help="a port for /_emulator that stays up while the Odoo port is down (0: any free)",
    )
    parser.add_argument("--odoo16-dedup", choices=("early", "late"), default="late")
    parser.add_argument("--odoo18-variant", choices=("early", "late"), default="late")
    parser.add_argument(
        "--json2", action="store_true", help="also serve the JSON-2 API (/json/2/...)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    app = create_app(
        args.odoo_version,
        tuple(args.databases or ["demo"]),
        odoo16_dedup=args.odoo16_dedup,
        odoo18_variant=args.odoo18_variant,
        json2=args.json2,
    )
    server = EmulatorServer(app, host=args.host, port=args.port, control_port=args.control_port)
    summary = {
        "odoo": f"http://{args.host}:{server.port}/jsonrpc",
        "control": f"http://{args.host}:{server.control_port}/_emulator",
        "version": args.odoo_version,
        "databases": {name: seed.get("users", []) for name, seed in app.emulator.seeds.items()},
    }
    print(json.dumps(summary, indent=2), flush=True)
    asyncio.run(server.serve_both())


if __name__ == "__main__":
    main()
