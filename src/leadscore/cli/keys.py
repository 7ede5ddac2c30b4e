"""``leadscore keys``: create, list and revoke API keys of the scoring service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli._output import errors_to_exit, print_json, stderr
from leadscore.settings import get_settings
from leadscore.store import SCOPES, Store, create_key, list_keys, revoke_key

__all__ = ["app"]

app = typer.Typer(help="API keys of the scoring service.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'crm-prod'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"What the key may do (repeatable; default all): {', '.join(SCOPES)}."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the key as JSON.")] = False,
) -> None:
    """Create a key and print it once; only its salted hash is stored."""
    with errors_to_exit():
        store = Store.open(get_settings())
        try:
            with store.transaction() as session:
                created = create_key(session, name, scope or [], datetime.now(UTC))
        finally:
            store.close()
    info = created.info
    if json_output:
        print_json(
            {
                "key": created.key,
                "key_id": info.key_id,
                "name": info.name,
                "scopes": list(info.scopes),
            }
        )
        return
    typer.echo(created.key)
    stderr.print(
        f"API key {info.key_id} ({info.name}; scopes: {', '.join(info.scopes)}). "
        "It is shown only now: store it in your CRM's secret store.",
        highlight=False,
    )


@app.command("list")
def listing(
    json_output: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False,
) -> None:
    """List the keys (never their secrets)."""
    with errors_to_exit():
        store = Store.open(get_settings())
        try:
            with store.transaction() as session:
                keys = list_keys(session)
        finally:
            store.close()
    if json_output:
        print_json([{**vars(k), "scopes": list(k.scopes)} for k in keys])
        return
    table = Table(title=f"{len(keys)} API key(s)")
    for header in ("key id", "name", "scopes", "created", "revoked"):
        table.add_column(header)
    for k in keys:
        table.add_row(
            k.key_id,
            k.name,
            ", ".join(k.scopes),
            f"{k.created_at:%Y-%m-%d %H:%M}",
            "" if k.revoked_at is None else f"{k.revoked_at:%Y-%m-%d %H:%M}",
        )
    Console().print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id (`keys list`).")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with errors_to_exit():
        store = Store.open(get_settings())
        try:
            with store.transaction() as session:
                info = revoke_key(session, key_id, datetime.now(UTC))
        finally:
            store.close()
    stderr.print(f"revoked API key {info.key_id} ({info.name})", highlight=False)
