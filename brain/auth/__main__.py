"""Accounts and tokens from the command line (settings from the environment, as the app reads them).

    python -m brain.auth create-user --username li --role dispatcher [--name 李调度]   (password asked, or
                                                                              BRAIN_NEW_PASSWORD)
    python -m brain.auth create-token --role intake --name hotline     (prints the token alone on stdout)
    python -m brain.auth create-token --role intake --name hotline --channel hotline_12345
    python -m brain.auth revoke-token --prefix cbt_AbCdEf
    python -m brain.auth set-password --username li
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from brain.auth.enums import Role
from brain.auth.service import AuthError, AuthService
from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.events.log import Store
from brain.storage.db import Database


def _password(prompt_for: str) -> str:
    env = os.environ.get("BRAIN_NEW_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise AuthError("no terminal to ask for a password: set BRAIN_NEW_PASSWORD")
    first = getpass.getpass(f"password for {prompt_for}: ")
    if getpass.getpass("again: ") != first:
        raise AuthError("the two passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m brain.auth", description="accounts and API tokens")
    sub = ap.add_subparsers(dest="cmd", required=True)
    cu = sub.add_parser("create-user", help="a person's account with a password")
    cu.add_argument("--username", required=True)
    cu.add_argument("--role", required=True, choices=[r.value for r in Role])
    cu.add_argument("--name", help="display name")
    cu.add_argument("--staff", help="the staff member a field person or supervisor is (e.g. S00002)")
    ct = sub.add_parser("create-token", help="an API token for a service account (created if new)")
    ct.add_argument("--name", required=True, help="service account name, e.g. hotline")
    ct.add_argument("--role", required=True, choices=[r.value for r in Role])
    ct.add_argument("--channel", help="an intake service's channel, e.g. hotline_12345 (its cases carry it)")
    rt = sub.add_parser("revoke-token", help="revoke tokens by their shown prefix")
    rt.add_argument("--prefix", required=True)
    sp = sub.add_parser("set-password", help="set a person's password")
    sp.add_argument("--username", required=True)
    args = ap.parse_args(argv)

    settings = Settings.from_env()
    db = Database(settings.database_url)
    db.create_schema()
    auth = AuthService(Store(db, MemoryBus()))
    actor = f"cli:{getpass.getuser()}"
    try:
        if args.cmd == "create-user":
            auth.create_account(username=args.username, role=args.role, password=_password(args.username),
                                display_name=args.name, actor=actor, staff_id=args.staff)
            print(f"account {args.username} ({args.role}) created", file=sys.stderr)
        elif args.cmd == "create-token":
            print(auth.create_token(name=args.name, role=args.role, actor=actor, channel=args.channel))
        elif args.cmd == "revoke-token":
            n = auth.revoke_token(args.prefix, actor=actor)
            print(f"{n} token(s) revoked", file=sys.stderr)
            return 0 if n else 1
        elif args.cmd == "set-password":
            auth.set_password(args.username, _password(args.username), actor=actor)
            print(f"password of {args.username} set", file=sys.stderr)
    except AuthError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
