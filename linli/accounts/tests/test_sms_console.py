"""The development SMS backend: each message once in the server's output."""

import logging

import pytest

from linli.accounts.sms import ConsoleBackend


def test_the_console_backend_writes_each_message_once(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="linli.sms"):
        ConsoleBackend().send("13800000000", "您的验证码是 123456")
    # the log (which make run prints) has it; a print beside it made every line appear twice
    assert [r.getMessage() for r in caplog.records] == ["[SMS to 13800000000] 您的验证码是 123456"]
    assert capsys.readouterr().out == ""
