"""The SMTP half of scripts/mail: a throwaway aiosmtpd server for keel's email tests.

    python mail-smtp.py DIR SMTP_PORT SMTPS_PORT MAIL_UID MAIL_GID

Listens on 127.0.0.1:SMTP_PORT (plain, STARTTLS offered) and 127.0.0.1:SMTPS_PORT (implicit TLS),
both with DIR/server.pem. AUTH PLAIN/LOGIN succeeds for any user whose password is keel-secret,
also without TLS; unauthenticated mail is accepted too. What it puts under DIR/mail belongs to
MAIL_UID:MAIL_GID, the user Dovecot reads the mail as (run as root, it chowns; Dovecot never
reads mail as root).

Each message goes into DIR/mail/<local part>/new/ for every recipient (lowercased, anything from
a + on dropped: the Maildir that Dovecot's maildir:DIR/mail/%Ln serves as that user's INBOX), with
Return-Path and Delivered-To on top, and is kept as sent by keel in DIR/sent/NNNNNN.eml plus
NNNNNN.json ({"mail_from", "rcpt_tos", "accepted_at"}); the .json is written last, so a reader
that sees it finds the .eml complete.
"""

import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

PASSWORD = b"keel-secret"


def write_atomically(tmp_path, final_path, data):
    with open(tmp_path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp_path, final_path)


def mailbox_of(address):
    local = address.rsplit("@", 1)[0].lower().split("+", 1)[0].replace("/", "_")
    # A hostile address must not name a directory outside DIR/mail.
    return "_" if local in ("", ".", "..") else local


class Handler:
    def __init__(self, root, uid, gid):
        self.root = root
        self.owner = (uid, gid) if os.geteuid() == 0 else None
        self.sent = os.path.join(root, "sent")
        os.makedirs(self.sent, exist_ok=True)
        # Numbering goes on after a restart of the server in the same DIR.
        done = [int(n.split(".")[0]) for n in os.listdir(self.sent)
                if n.endswith(".json") and n.split(".")[0].isdigit()]
        self.seq = itertools.count(max(done, default=0) + 1)
        self.unique = itertools.count(1)
        self.host = socket.gethostname().replace("/", "_").replace(":", "_")

    def makedir(self, path):
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            if self.owner:
                os.chown(path, *self.owner)

    def deliver(self, rcpt, mail_from, body):
        box = os.path.join(self.root, "mail", mailbox_of(rcpt))
        self.makedir(box)
        for sub in ("new", "cur", "tmp"):
            self.makedir(os.path.join(box, sub))
        now = time.time()
        name = (f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}"
                f"Q{next(self.unique)}.{self.host}")
        head = f"Return-Path: <{mail_from}>\nDelivered-To: {rcpt}\n".encode()
        tmp = os.path.join(box, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(head + body)
            f.flush()
            os.fsync(f.fileno())
        if self.owner:
            os.chown(tmp, *self.owner)
        os.rename(tmp, os.path.join(box, "new", name))

    async def handle_DATA(self, server, session, envelope):
        accepted_at = time.time()
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        seq = f"{next(self.seq):06d}"
        tmp = os.path.join(self.sent, f".{seq}.tmp")
        write_atomically(tmp, os.path.join(self.sent, f"{seq}.eml"), raw)
        # Maildir messages have bare LF line ends, as a local delivery agent writes them.
        body = raw.replace(b"\r\n", b"\n")
        for rcpt in envelope.rcpt_tos:
            self.deliver(rcpt, envelope.mail_from, body)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "accepted_at": accepted_at}
        write_atomically(tmp, os.path.join(self.sent, f"{seq}.json"),
                         json.dumps(meta).encode() + b"\n")
        print(f"{seq}: from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}",
              file=sys.stderr, flush=True)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD:
        return AuthResult(success=True, auth_data=auth_data)
    # handled=False: aiosmtpd answers 535 itself.
    return AuthResult(success=False, handled=False)


def main():
    root = sys.argv[1]
    smtp_port, smtps_port, uid, gid = (int(a) for a in sys.argv[2:6])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd itself sets the deprecated login_data on every AUTH and warns about it.
    logging.getLogger("mail.log").addFilter(
        lambda r: "login_data is deprecated" not in r.getMessage())
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(os.path.join(root, "server.pem"), os.path.join(root, "server.key"))
    handler = Handler(root, uid, gid)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory(starttls):
        return lambda: SMTP(handler, hostname="localhost", loop=loop, enable_SMTPUTF8=True,
                            tls_context=tls if starttls else None, auth_require_tls=False,
                            authenticator=authenticator)

    loop.run_until_complete(loop.create_server(factory(True), "127.0.0.1", smtp_port))
    loop.run_until_complete(loop.create_server(factory(False), "127.0.0.1", smtps_port, ssl=tls))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print(f"listening on 127.0.0.1:{smtp_port} (STARTTLS) and :{smtps_port} (TLS)",
          file=sys.stderr, flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
