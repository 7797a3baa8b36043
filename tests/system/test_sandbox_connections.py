"""The sandbox keeps idle keep-alive connections past the scenarios' think times, as the load
balancers in front of real APIs do, so that a user's next request never meets a connection the
server is closing at that moment."""

import http.client
import time
from urllib.parse import urlsplit

from sandbox.routes.control import CONTROL_PREFIX

HEALTH = f"{CONTROL_PREFIX}/health"


def test_an_idle_connection_outlives_a_think_time_of_six_seconds(sandbox):
    address = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", HEALTH)
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        local = connection.sock.getsockname()
        time.sleep(6)  # past uvicorn's default keep-alive of 5 s, inside the seed's 1-8 s waits
        connection.request("GET", HEALTH)  # RemoteDisconnected if the server closed it
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock.getsockname() == local  # the same connection, not a new one
    finally:
        connection.close()
