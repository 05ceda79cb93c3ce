"""The ``pcaptls`` command: thin click glue over :mod:`pcaptls.analysis`.

Exit codes: 0 done; 1 a finding at or above ``--fail-on``; 2 bad usage or
unreadable input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from pcaptls.errors import InputError

EXIT_FINDINGS = 1
EXIT_INPUT = 2


def _fail(msg: str) -> None:
    click.echo(f"pcaptls: {msg}", err=True)
    sys.exit(EXIT_INPUT)


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every error into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            _fail("interrupted")
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except Exception as e:  # pragma: no cover - a bug, still one line
            if os.environ.get("PCAPTLS_DEBUG"):
                raise
            _fail(f"internal error ({type(e).__name__}: {e}); set PCAPTLS_DEBUG=1 for details")
        return None

    return wrapper


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.argument("captures", nargs=-1, required=True),
        click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown", "html"]),
                     default=None, help="Output format (default: table on a terminal, csv otherwise)."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
                     help="Write to FILE instead of standard output."),
        click.option("--port", "ports", type=click.IntRange(1, 65535), multiple=True,
                     help="Treat this TCP port as TLS (repeatable; 5061 and TLS on any port are found by default)."),
        click.option("--keylog", "keylogs", type=click.Path(), multiple=True,
                     help="NSS key log file (SSLKEYLOGFILE) to decrypt with (repeatable)."),
        click.option("--ca-bundle", type=click.Path(exists=False), default=None,
                     help="Trust store: a PEM file or a directory of certificates (default: Mozilla's, from certifi)."),
        click.option("--system-trust", is_flag=True, help="Trust the system's store instead of Mozilla's."),
        click.option("--expect-host", default=None, help="The name the server's certificate must match (when the client sent no SNI, or you know better)."),
        click.option("--no-hostname-check", is_flag=True, help="Do not check certificate names."),
        click.option("--at", "at_time", default=None, help="Judge certificate validity at this time (ISO 8601) instead of the capture time."),
        click.option("--expiry-days", default="30,14,7", show_default=True, help="Expiry warning thresholds in days."),
        click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
                     help="Exit 1 when a finding of this severity or worse exists."),
        click.option("--jobs", type=click.IntRange(1, 256), default=None, help="Files analysed in parallel."),
        click.option("--dask", default=None, metavar="ADDRESS",
                     help="Run the per-file work on a Dask cluster (ADDRESS of its scheduler, or 'local')."),
        click.option("--parquet", type=click.Path(file_okay=False), default=None,
                     help="Also write every table as a Parquet dataset into DIR."),
        click.option("--engine", type=click.Choice(["native", "tshark"]), default="native",
                     help="Build connections, messages and certificates from tshark's dissection "
                          "(for encapsulations the native reader does not handle; no findings)."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


#: what the summary and the reports read (no messages, no sip rows)
SUMMARY_TABLES = frozenset({"connections", "certificates", "findings", "fleet"})


def _settings(kw: dict[str, Any]) -> Any:
    from pcaptls.analysis import Settings

    try:
        days = tuple(sorted({int(x) for x in str(kw["expiry_days"]).split(",") if x.strip()}, reverse=True))
    except ValueError:
        raise InputError(f"--expiry-days: expected numbers like 30,14,7, got {kw['expiry_days']!r}") from None
    return Settings(
        ports=tuple(kw["ports"]),
        keylogs=tuple(kw["keylogs"]),
        ca_bundle=kw["ca_bundle"],
        system_trust=kw["system_trust"],
        expect_host=kw["expect_host"],
        check_hostname=not kw["no_hostname_check"],
        at=kw["at_time"],
        expiry_days=days or (30, 14, 7),
        jobs=kw["jobs"],
        dask=kw["dask"],
        # what the command prints; --parquet and --csv-dir write every table
        tables=None if kw.get("parquet") or kw.get("csv_dir") else kw.get("tables"),
    )


def _run(kw: dict[str, Any]) -> Any:
    from pcaptls.analysis import analyze_many, expand_inputs, merge

    if kw.get("engine") == "tshark":
        from pcaptls.engines.tshark import analyze_with_tshark

        files = expand_inputs(list(kw["captures"]))
        runs = [analyze_with_tshark(f, ports=kw["ports"], keylogs=kw["keylogs"]) for f in files]
        result = runs[0] if len(runs) == 1 else merge(runs)
    else:
        result = analyze_many(list(kw["captures"]), _settings(kw), progress=sys.stderr.isatty())
    if kw.get("parquet"):
        from pcaptls.distribute import write_parquet

        write_parquet(result, Path(kw["parquet"]))
    return result


def _open_out(path: str | None) -> IO[str]:
    if path is None:
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror})") from None


def _fmt(kw: dict[str, Any]) -> str:
    if kw["fmt"]:
        return str(kw["fmt"])
    return "table" if kw["output"] is None and sys.stdout.isatty() else "csv"


def _exit_for(result: Any, fail_on: str | None) -> None:
    if fail_on and result.has_findings_at(fail_on):
        sys.exit(EXIT_FINDINGS)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pcaptls")
def main() -> None:
    """Explain TLS handshake failures in captures of SIP over TLS, frame by frame."""


def _table_command(name: str, help_text: str) -> None:
    @main.command(name=name, help=help_text)
    @common_options
    @_guarded
    def command(**kw: Any) -> None:
        from pcaptls.report.render import render

        result = _run({**kw, "tables": frozenset({name})})
        out = _open_out(kw["output"])
        try:
            render(result.tables[name], _fmt(kw), out)
        finally:
            if out is not sys.stdout:
                out.close()
        _exit_for(result, kw["fail_on"])


_table_command("connections", "The connections table: one row per TCP connection carrying TLS.")
_table_command("messages", "The messages table: every handshake message, ChangeCipherSpec and alert.")
_table_command("findings", "The findings table, worst first.")
_table_command("sip", "The sip table: every SIP message seen (plaintext or decrypted).")
_table_command("fleet", "Certificates, versions and suites per name and server address.")


@main.command(help="The certificates table; --export DIR writes each certificate and chain as PEM.")
@common_options
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None,
              help="Write each distinct certificate (<sha256>.pem) and each chain as sent.")
@_guarded
def certs(export_dir: str | None, **kw: Any) -> None:
    from pcaptls.report.render import render

    result = _run({**kw, "tables": frozenset({"certificates"})})
    if export_dir:
        n = result.export_certificates(Path(export_dir))
        click.echo(f"wrote {n} file(s) to {export_dir}", err=True)
    out = _open_out(kw["output"])
    try:
        render(result.tables["certificates"], _fmt(kw), out)
    finally:
        if out is not sys.stdout:
            out.close()
    _exit_for(result, kw["fail_on"])


@main.command(help="Summary and findings of one or more captures: the main job.")
@common_options
@click.option("--csv-dir", type=click.Path(file_okay=False), default=None, help="Also write every table as CSV into DIR.")
@_guarded
def analyze(csv_dir: str | None, **kw: Any) -> None:
    from pcaptls.report.summary import write_summary

    result = _run({**kw, "tables": SUMMARY_TABLES, "csv_dir": csv_dir})
    fmt = kw["fmt"] or ("table" if kw["output"] is None and sys.stdout.isatty() else "markdown")
    out = _open_out(kw["output"])
    try:
        write_summary(result, fmt, out)
    finally:
        if out is not sys.stdout:
            out.close()
    if csv_dir:
        result.write_csv_dir(Path(csv_dir))
    _exit_for(result, kw["fail_on"])


@main.command(help="A self-contained report to attach to a ticket (Markdown, or HTML with plots).")
@common_options
@_guarded
def report(**kw: Any) -> None:
    result = _run({**kw, "tables": SUMMARY_TABLES})
    if kw["fmt"] == "html":
        from pcaptls.report.html import html_report

        text = html_report(result)
    else:
        from pcaptls.report.markdown import markdown_report

        text = markdown_report(result)
    out = _open_out(kw["output"])
    try:
        out.write(text)
    finally:
        if out is not sys.stdout:
            out.close()
    _exit_for(result, kw["fail_on"])


@main.command(help="Run the native engine and tshark on each capture; print every disagreement (exit 1 if any).")
@click.argument("captures", nargs=-1, required=True)
@click.option("--port", "ports", type=click.IntRange(1, 65535), multiple=True, help="Also treat this port as TLS.")
@click.option("--keylog", "keylogs", type=click.Path(), multiple=True, help="NSS key log for both engines.")
@_guarded
def crosscheck(captures: tuple[str, ...], ports: tuple[int, ...], keylogs: tuple[str, ...]) -> None:
    from pcaptls.crosscheck import crosscheck as run_crosscheck

    sys.exit(run_crosscheck(list(captures), sys.stdout, ports=ports, keylogs=keylogs))


if __name__ == "__main__":  # pragma: no cover
    main()
