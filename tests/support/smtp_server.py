#!/usr/bin/python3
"""A real SMTP server process for the integration tests.

Built on aiosmtpd (Debian's python3-aiosmtpd, so run it with /usr/bin/python3).
It listens on --host/--port (0 = pick a free port), prints exactly one line
`READY <port>` to stdout once listening, and stores every accepted message,
byte for byte as received, in the Maildir --maildir (written to tmp/, then
renamed into new/).

Modes: `plain` (no TLS), `starttls` (STARTTLS offered and required before MAIL),
`implicit` (SMTPS: TLS from the first byte). With --user/--password, AUTH PLAIN
and AUTH LOGIN are offered and required; bad credentials get 535.
A recipient whose local part starts with `nobody` is refused at RCPT the way
Postfix refuses an unknown user, quoting the full address:
`550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown`.
With --faults FILE, the file's content (read at each step, so a test switches it while the
server runs) injects a fault: `drop-data` closes the connection when the message has been sent
and before any answer; `tempfail` answers the message `451 4.3.0`; `stall` answers it only after
a minute; `close-after-starttls` closes the connection right after the TLS handshake. Empty or
absent: no fault.
It stops on SIGTERM/SIGINT, and on stdin EOF if --exit-on-stdin-eof is given.
"""
import argparse
import asyncio
import itertools
import logging
import os
import signal
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult

# aiosmtpd complains on every connection when auth is required without STARTTLS
# (expected here: plain mode on purpose, implicit mode is already TLS), and on
# every successful AUTH about its own deprecated Session.login_data.
NOISE = ("auth_require_tls == False", "login_data is deprecated")
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
log = logging.getLogger("smtp_server")


class MaildirHandler:
    # NB: no attribute may start with auth_: aiosmtpd would offer it as a mechanism.
    def __init__(self, maildir, with_auth, faults=None):
        self.maildir = maildir
        self.with_auth = with_auth
        self.faults = faults
        self.counter = itertools.count()
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)

    def fault(self):
        if not self.faults:
            return ""
        try:
            with open(self.faults, encoding="utf-8") as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def handle_STARTTLS(self, server, session, envelope):
        if self.fault() == "close-after-starttls":
            log.warning("fault: closing after STARTTLS")
            server.loop.call_soon(server.transport.close)
        return True

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # this hook is responsible for it
        if not self.with_auth:  # else AUTH would be offered after STARTTLS
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("nobody"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        fault = self.fault()
        if fault == "drop-data":
            log.warning("fault: dropping the connection mid-DATA")
            server.transport.close()
            await asyncio.sleep(3600)
        if fault == "tempfail":
            return "451 4.3.0 Temporary failure: try again later"
        if fault == "stall":
            await asyncio.sleep(60)
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self.counter)}.localhost"
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "xb") as f:
            f.write(envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        log.info("stored %s (%d bytes)", name, len(envelope.original_content))
        return "250 OK"


def make_authenticator(user, password):
    user, password = user.encode(), password.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok, handled=False)  # failure -> 535

    return authenticator


async def serve(args):
    loop = asyncio.get_running_loop()
    context = None
    if args.mode != "plain":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    handler = MaildirHandler(args.maildir, with_auth=args.user is not None, faults=args.faults)
    kwargs = {"hostname": "localhost", "loop": loop}
    if args.mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    if args.user is not None:
        # aiosmtpd only counts STARTTLS as "TLS", so implicit mode must say False.
        kwargs.update(authenticator=make_authenticator(args.user, args.password),
                      auth_required=True, auth_require_tls=args.mode == "starttls")
    server = await loop.create_server(
        lambda: SMTP(handler, **kwargs), args.host, args.port,
        ssl=context if args.mode == "implicit" else None)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_on_stdin_eof:
        def wait_for_eof():
            while os.read(0, 65536):
                pass
            loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=wait_for_eof, daemon=True).start()
    print(f"READY {port}", flush=True)
    log.info("listening on %s:%d (%s)", args.host, port, args.mode)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="0 = any free port")
    p.add_argument("--mode", choices=("plain", "starttls", "implicit"), required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--cert", help="PEM certificate (starttls/implicit)")
    p.add_argument("--key", help="PEM private key (starttls/implicit)")
    p.add_argument("--user", help="require AUTH PLAIN/LOGIN as this user")
    p.add_argument("--password", help="password for --user")
    p.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="also stop when stdin is closed (parent died)")
    p.add_argument("--verbose", action="store_true", help="log connections too")
    p.add_argument("--faults", help="a file whose content names the fault to inject")
    args = p.parse_args()
    if args.mode != "plain" and not (args.cert and args.key):
        p.error(f"--mode {args.mode} needs --cert and --key")
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    logging.basicConfig(stream=sys.stderr, format="smtp_server: %(name)s: %(message)s",
                        level=logging.INFO if args.verbose else logging.WARNING)
    logging.getLogger("mail.log").addFilter(
        lambda r: not any(n in r.getMessage() for n in NOISE))
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
