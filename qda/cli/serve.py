"""``qda serve`` (the browser coding workspace) and ``qda users add`` (its accounts)."""

from __future__ import annotations

import sys

import typer

from qda.cli import app, opened

users_app = typer.Typer(no_args_is_help=True, help="Accounts of the browser workspace (qda serve on a network).")
app.add_typer(users_app, name="users")


@app.command()
def serve(ctx: typer.Context,
          port: int = typer.Option(8765, "--port", help="TCP port."),
          host: str = typer.Option("127.0.0.1", "--host",
                                   help="Address to listen on; anything but localhost requires accounts."),
          coder: str | None = typer.Option(None, "--coder", "-c",
                                              help="Code as this coder (localhost); else pick one in the page."),
          unblind: bool = typer.Option(False, "--unblind",
                                       help="Let coders see each other's codings (blind by default with 2+ coders)."),
          open_browser: bool = typer.Option(False, "--open", help="Open the workspace in the web browser.")) -> None:
    """Serve the coding workspace in the browser (Ctrl+C stops it)."""
    from qda.web import create_app, listen, run  # imported here: the other commands stay fast to start

    with opened(ctx) as project:
        folder = project.folder
    web = create_app(folder, coder=coder, unblind=unblind, host=host)
    sock = listen(host, port)  # before the "workspace on" line: a busy port is one line with a hint
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    typer.echo(f"qda workspace on {folder}: {url}  (Ctrl+C to stop)")
    if open_browser:
        import webbrowser
        webbrowser.open(url)
    run(web, sock)


@users_app.command("add")
def users_add(ctx: typer.Context, name: str = typer.Argument(..., help="User name (also the coder name)."),
              password_stdin: bool = typer.Option(False, "--password-stdin",
                                                  help="Read the password from standard input.")) -> None:
    """Create an account (or reset its password); only a scrypt hash is stored."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with opened(ctx) as project:
        user = project.add_user(name, password)
    typer.echo(f"account '{user}' ready")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Names of the workspace accounts."""
    with opened(ctx) as project:
        for user in project.users():
            typer.echo(user)
