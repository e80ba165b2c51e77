"""irctest controller for shmooze: `pytest --controller shmooze` with this folder on
PYTHONPATH (scripts/conformance.ts does that).

irctest starts one server per test through `run()`: here `deno run -A main.ts serve` on the
port irctest chose, with a fresh data directory, flood control and the per-client limits that
a test suite would trip over turned off or raised. Everything below says only what shmooze
really does: a capability or behaviour listed here that shmooze lacks turns an irctest skip
into a failure.
"""

import subprocess
import time
from pathlib import Path
from typing import Optional, Set, Type

from irctest import patma
from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.cases import BaseServerTestCase
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.ts"
ADD_ACCOUNT = Path(__file__).resolve().parent / "_add_account.ts"
# REGISTER hashes the password (argon2id, ~65 ms) before it answers
REGISTER_TIMEOUT = 30
# irctest opers up with `OPER operuser operpassword`
OPER_NAME = "operuser"
OPER_PASSWORD = "operpassword"
_oper_line: Optional[str] = None


def oper_line() -> str:
    """The operator file's line for irctest's operator, made once per run with
    `shmooze oper-hash` (the password on standard input, as a user would)."""
    global _oper_line
    if _oper_line is None:
        _oper_line = subprocess.run(
            ["deno", "run", "--allow-all", str(MAIN), "oper-hash", "--name", OPER_NAME],
            input=(OPER_PASSWORD + "\n").encode(),
            stdout=subprocess.PIPE,
            check=True,
            timeout=60,
        ).stdout.decode().strip()
    return _oper_line


# REGISTER refusals that come from shmooze's account policy (three registrations an hour from
# one address; passwords over 256 characters) rather than from the protocol: the account is then
# written into the data directory instead, as Atheme or Anope would hold it for other servers.
# A password too long for one IRC line (irctest tries 592 characters) gets 417 instead.
POLICY_REFUSALS = {"WEAK_PASSWORD", "TEMPORARILY_UNAVAILABLE", "417"}


class ShmoozeController(BaseServerController, DirectoryBasedController):
    software_name = "shmooze"
    # deno needs a moment to start; polling faster only burns the shared CPU
    _port_wait_interval = 0.05
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False
    nickserv = "NickServ"  # NickServ answers SET ALWAYS-ON; irctest names it in services tests

    capabilities = frozenset(
        (
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.EXTENDED_MONITOR,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.READ_MARKER,
            Capabilities.SERVER_TIME,
            Capabilities.SETNAME,
        )
    )

    # irctest turns the skip of a behaviour listed here into a failure: each is one shmooze has
    # (its tests pass), so losing it shows.
    optional_behaviors = frozenset(
        (
            OptionalBehaviors.BAN_EXCEPTION_MODE,
            OptionalBehaviors.CAP_REQ_MINUS,
            OptionalBehaviors.INVITE_EXCEPTION_MODE,
            OptionalBehaviors.INVITE_LIST,
            OptionalBehaviors.INVITE_OVERRIDES_LIMIT,
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_KICK,
            OptionalBehaviors.MULTI_PRIVMSG,
            OptionalBehaviors.SASL_AFTER_REGISTRATION,
        )
    )

    isupport = {
        "CASEMAPPING": "ascii",
        "CHANTYPES": "#",
        "PREFIX": "(ov)@+",
        "TARGMAX": patma.ANYSTR,
        "UTF8ONLY": None,
    }

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if password is not None:
            raise NotImplementedByController("PASS (shmooze has no server password)")
        if self.test_config.account_registration_before_connect:
            raise NotImplementedByController(
                "REGISTER before connection registration (draft/account-registration "
                "before-connect)"
            )
        if self.test_config.account_registration_requires_email:
            raise NotImplementedByController(
                "REGISTER with e-mail verification (draft/account-registration "
                "email-required)"
            )
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        self.data_dir = self.directory / "data"
        oper_file = self.directory / "opers.conf"
        oper_file.write_text(oper_line() + "\n")
        oper_file.chmod(0o600)

        listen = ["--host", hostname, "--port", str(port)]
        if ssl:
            self.gen_ssl()
            (_, plain_port) = self.get_hostname_and_port()
            listen = [
                "--host",
                hostname,
                "--port",
                str(plain_port),
                "--tls-port",
                str(port),
                "--tls-cert",
                str(self.pem_path),
                "--tls-key",
                str(self.key_path),
            ]
        if websocket_port is not None:
            web = ["--http-host", websocket_hostname or hostname]
            web += ["--http-port", str(websocket_port)]
        else:
            web = ["--no-http"]

        # faketime is not used: libfaketime under Deno's V8 is untested here, and irctest
        # only relies on it after checking self.faketime_enabled (left False).
        self.proc = self.execute(
            [
                "deno",
                "run",
                "--allow-all",
                str(MAIN),
                "serve",
                *listen,
                *web,
                "--name",
                "My.Little.Server",
                "--data",
                str(self.data_dir),
                "--oper-file",
                str(oper_file),
                "--no-status",
                # irctest sends bursts of lines and opens many connections from loopback
                "--flood-burst",
                "0",
                "--max-conn-per-ip",
                "1000",
                "--history-budget",
                "100000",
                # irctest registers accounts with short passwords ("sesame")
                "--min-password-length",
                "1",
            ],
            proc_name="shmooze",
            stdin=subprocess.DEVNULL,
        )

    def wait_for_services(self) -> None:
        # Accounts are built in: they are up when the port is.
        self.wait_for_port()

    def registerUser(
        self,
        case: BaseServerTestCase,
        username: str,
        password: Optional[str] = None,
    ) -> None:
        """Registers with draft/account-registration's REGISTER, the way a user would;
        when shmooze's policy refuses it, writes the account into the data directory."""
        # Only services tests may count on accounts, whatever server runs them.
        if not case.run_services or not password:
            raise ValueError("registerUser needs a services test and a password")
        client = case.addClient(show_io=False)
        case.sendLine(client, "NICK " + username)
        case.sendLine(client, "USER r e g :user")
        while case.getRegistrationMessage(client).command != "001":
            pass
        case.getMessages(client)
        case.sendLine(client, f"REGISTER {username} * {password}")
        outcome = None
        deadline = time.monotonic() + REGISTER_TIMEOUT
        while outcome is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"REGISTER {username} got no answer")
            for msg in case.getMessages(client):
                if msg.command == "REGISTER" and msg.params[0] == "SUCCESS":
                    outcome = "SUCCESS"
                elif msg.command == "417":  # ERR_INPUTTOOLONG
                    outcome = "417"
                elif msg.command == "FAIL" and msg.params[0] == "REGISTER":
                    outcome = msg.params[1]
                    if outcome not in POLICY_REFUSALS:
                        raise AssertionError(f"REGISTER {username} failed: {msg}")
        case.sendLine(client, "QUIT")
        case.assertDisconnected(client)
        if outcome != "SUCCESS":
            self._add_account(username, password)

    def _add_account(self, username: str, password: str) -> None:
        subprocess.run(
            [
                "deno",
                "run",
                "--allow-all",
                str(ADD_ACCOUNT),
                str(self.data_dir),
                username,
            ],
            input=password.encode(),
            check=True,
            timeout=60,
        )


def get_irctest_controller_class() -> Type[ShmoozeController]:
    return ShmoozeController
