"""``qda serve`` (the browser coding workspace), ``qda users`` (its accounts) and ``qda blind``
(whether coders see each other's codings)."""

from __future__ import annotations

import sys
from enum import Enum

import typer

from qda.cli import FormatOpt, app, err, opened, render
from qda.models import OutputFormat, Role

users_app = typer.Typer(no_args_is_help=True, help="Accounts of the browser workspace (qda serve on a network).")
app.add_typer(users_app, name="users")

class Switch(str, Enum):
    ON = "on"
    OFF = "off"


@app.command()
def serve(ctx: typer.Context,
          port: int = typer.Option(8765, "--port", help="TCP port."),
          host: str = typer.Option("127.0.0.1", "--host",
                                   help="Address to listen on; anything but localhost requires accounts."),
          coder: str | None = typer.Option(None, "--coder", "-c",
                                              help="Code as this coder (localhost); else pick one in the page."),
          unblind: bool = typer.Option(False, "--unblind",
                                       help="Blind mode off for this server only (the project's setting: qda blind)."),
          allowed_host: list[str] = typer.Option([], "--allowed-host",
                                                 help="On a network address: a host name users type (repeat the "
                                                      "option); requests for any other Host are refused."),
          secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                              help="Send the session cookie over HTTPS only."),
          behind_https_proxy: bool = typer.Option(False, "--behind-https-proxy",
                                                  help="Behind an HTTPS reverse proxy on this machine: Secure "
                                                       "cookies, and the client address from X-Forwarded-For."),
          open_browser: bool = typer.Option(False, "--open", help="Open the workspace in the web browser.")) -> None:
    """Serve the coding workspace in the browser (Ctrl+C stops it)."""
    from qda.web import create_app, listen, run  # imported here: the other commands stay fast to start

    with opened(ctx) as project:
        folder = project.folder
    web = create_app(folder, coder=coder, unblind=unblind, host=host, allowed_hosts=allowed_host or None,
                     secure_cookies=secure_cookies or behind_https_proxy)
    sock = listen(host, port)  # before the "workspace on" line: a busy port is one line with a hint
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    typer.echo(f"qda workspace on {folder}: {url}  (Ctrl+C to stop)")
    if unblind:
        err.print("note: --unblind turns blind mode off for this server only; 'qda blind off' is the "
                  "project's setting")
    if web.state.settings.accounts and not allowed_host:
        err.print("note: any Host name is accepted; name the ones users type with --allowed-host")
    if open_browser:
        import webbrowser
        webbrowser.open(url)
    run(web, sock, proxy=behind_https_proxy)


@app.command("blind")
def blind(ctx: typer.Context,
          state: Switch | None = typer.Argument(None, help="on or off (nothing: show the setting)."),
          fmt: OutputFormat = FormatOpt) -> None:
    """Blind mode of the workspace: each coder sees only their own codings (on by default)."""
    with opened(ctx) as project:
        result = project.blind_mode() if state is None else project.set_blind(state is Switch.ON)
    render(result, fmt)


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(ctx: typer.Context, name: str = typer.Argument(..., help="User name (also the coder name)."),
              role: Role | None = typer.Option(None, "--role", help="What the account may do (new accounts: coder)."),
              password_stdin: bool = typer.Option(False, "--password-stdin",
                                                  help="Read the password from standard input.")) -> None:
    """Create an account, or reset its password (its sessions end); only a scrypt hash is stored."""
    password = _password(password_stdin)
    with opened(ctx) as project:
        user = project.add_user(name, password, role.value if role else None)
    typer.echo(f"account '{user.name}' ready ({user.role})")


@users_app.command("password")
def users_password(ctx: typer.Context, name: str = typer.Argument(..., help="User name."),
                   password_stdin: bool = typer.Option(False, "--password-stdin",
                                                       help="Read the password from standard input.")) -> None:
    """Set a new password for an existing account: its sessions end, its lockout is lifted."""
    with opened(ctx) as project:
        project.account(name)  # an unknown name fails before the prompt
        user = project.add_user(name, _password(password_stdin))
    typer.echo(f"new password for '{user.name}'; their sessions have ended")


@users_app.command("role")
def users_role(ctx: typer.Context, name: str = typer.Argument(..., help="User name."),
               role: Role = typer.Argument(..., help="What the account may do.")) -> None:
    """Give an account the role lead, coder or viewer (their sessions end)."""
    with opened(ctx) as project:
        user = project.set_user_role(name, role.value)
    typer.echo(f"'{user.name}' is now a {user.role}")


@users_app.command("disable")
def users_disable(ctx: typer.Context, name: str = typer.Argument(..., help="User name."),
                  enable: bool = typer.Option(False, "--enable", help="Allow the account to log in again.")) -> None:
    """Stop an account from logging in; its open sessions end at once (its codings stay)."""
    with opened(ctx) as project:
        user = project.disable_user(name, not enable)
    typer.echo(f"'{user.name}' {'can log in again' if enable else 'is disabled; their sessions have ended'}")


@users_app.command("remove")
def users_remove(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Delete an account; its open sessions end at once (the coder's codings stay)."""
    with opened(ctx) as project:
        user = project.remove_user(name)
    typer.echo(f"account '{user.name}' removed; their codings stay in the project")


@users_app.command("unlock")
def users_unlock(ctx: typer.Context, name: str = typer.Argument(..., help="User name.")) -> None:
    """Lift the lockout that failed logins put on an account."""
    with opened(ctx) as project:
        user = project.unlock_user(name)
    typer.echo(f"'{user.name}' may log in again")


@users_app.command("list")
def users_list(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """The workspace accounts: name, role, state (active, disabled, locked) and failed logins."""
    with opened(ctx) as project:
        result = project.user_list()
    render(result, fmt)
