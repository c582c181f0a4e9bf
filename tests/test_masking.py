"""Credentials in --apibase are masked like --apikey (issue 10, item 9)."""

import pytest

from contour.errors import ContourError
from contour.masking import mask_argv, mask_url
from contour.run.client import ChatClient, RetryPolicy
from tests.faultserver import FaultServer, reset


@pytest.mark.parametrize("url, shown", [
    ("http://alice:pw@host:8000/v1", "http://***@host:8000/v1"),
    ("https://TOKEN@api.example.com", "https://***@api.example.com"),
    ("http://host:8000/v1", "http://host:8000/v1"),
    ("http://a:b@c@host/v1", "http://***@host/v1"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_mask_argv():
    argv = ["runner.py", "--apibase", "http://u:pw@h/v1", "--apikey", "sk-1", "--apibase=http://u:pw@h",
            "--apikey=sk-2", "--model", "--apikey"]
    assert mask_argv(argv) == ["runner.py", "--apibase", "http://***@h/v1", "--apikey", "***",
                               "--apibase=http://***@h", "--apikey=***", "--model", "--apikey"]


@pytest.mark.usefixtures("each_transport")
def test_client_messages_never_show_the_url_credential():
    secret = "pw-0123456789"
    with FaultServer(default=reset()) as server:
        base = server.apibase.replace("http://", f"http://alice:{secret}@")
        client = ChatClient(base, retry=RetryPolicy(max_retries=0), timeout=5)
        error = client.complete({"model": "m", "messages": []}).error
        assert error["type"] == "connection" and secret not in error["message"]
        assert "http://***@127.0.0.1" in error["message"]
        assert secret not in repr(client)
    with pytest.raises(ContourError) as caught:
        client.check_model("m")        # the server is gone
    assert secret not in str(caught.value) and "***@" in str(caught.value)
