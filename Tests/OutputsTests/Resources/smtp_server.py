"""An SMTP server for auditpipe's SMTP output tests, on aiosmtpd (PyPI).

It offers STARTTLS (and requires it) or implicit TLS or neither, requires AUTH when given a
user, and answers recipients by their local part: greylist* -> 451, unknown* -> 550, others
-> 250. Each accepted mail is written to --maildir as NNNN.eml (the bytes received, after
aiosmtpd undid the dot-stuffing) and NNNN.json: the envelope and the message as Python's
email package parses it (headers decoded, each MIME part's decoded text, parser defects),
so the tests check the mail with an independent MIME parser. Prints READY when listening.
"""
import argparse
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("greylist"):
            return "451 4.7.1 Greylisted, try again later"
        if local.startswith("unknown"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "text": part.get_content(),
                "defects": [str(defect) for defect in part.defects],
            })
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated_as": getattr(session, "auditpipe_login", None),
            "auth_mechanism": getattr(session, "auditpipe_mechanism", None),
            "subject": str(message["Subject"]),
            "from": str(message["From"]),
            "to": [str(address) for address in message["To"].addresses],
            "message_id": str(message["Message-ID"]),
            "date": str(message["Date"]),
            "x_auditpipe_rule": str(message["X-Auditpipe-Rule"]),
            "content_type": message.get_content_type(),
            "defects": [str(defect) for defect in message.defects],
            "parts": parts,
            "longest_line": max((len(line) for line in raw.split(b"\r\n")), default=0),
            "bare_line_feeds": raw.replace(b"\r\n", b"").count(b"\n"),
        }
        with self.lock:
            self.count += 1
            name = os.path.join(self.maildir, "%04d" % self.count)
        with open(name + ".eml", "wb") as file:
            file.write(raw)
        with open(name + ".json.tmp", "w") as file:
            json.dump(summary, file)
        os.rename(name + ".json.tmp", name + ".json")
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["starttls", "implicit", "plain"], default="plain")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--maildir", required=True)
    arguments = parser.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        session.auditpipe_mechanism = mechanism
        accepted = (isinstance(auth_data, LoginPassword)
                    and auth_data.login == arguments.user.encode()
                    and auth_data.password == arguments.password.encode())
        if accepted:
            session.auditpipe_login = arguments.user
        return AuthResult(success=accepted, handled=False)

    context = None
    if arguments.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(arguments.cert, arguments.key)

    options = {}
    if arguments.user:
        options.update(authenticator=authenticator, auth_required=True)
    if arguments.mode == "starttls":
        options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    elif arguments.mode == "implicit":
        options.update(ssl_context=context, auth_require_tls=False)
    else:
        options.update(auth_require_tls=False)

    controller = Controller(Handler(arguments.maildir), hostname="127.0.0.1", port=arguments.port,
                            server_hostname="localhost", **options)
    controller.start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
