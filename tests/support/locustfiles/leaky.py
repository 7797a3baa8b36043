"""Test locustfile: a careless user that logs secrets every way it can; none may reach the log."""

import logging

import structlog
from locust import HttpUser, constant, task

from service.plugin import BearerAuth, credentials

logger = structlog.get_logger()


class LeakyUser(BearerAuth, HttpUser):
    wait_time = constant(0.5)

    def login(self):
        response = self.client.post(
            "/api/auth/login",
            json={"username": "user_1", "password": credentials.user_password},
        )
        self.accept_token(response)

    @task
    def leak(self):
        headers = self.headers
        self.client.get("/api/dashboard", headers=headers)
        logger.info("as_a_field", password=credentials.user_password, headers=str(headers))
        logger.info(f"in the message: login with {credentials.user_password}")
        logging.getLogger("careless.stdlib").warning("sending %s", headers)
        # The key in a URL, without a name: the URL would become the name, and the failure
        # (a 404) would carry it in its message.
        self.client.get(f"/api/health?api_key={credentials.api_key}")
        self.client.get(f"/api/no-such-route/{credentials.api_key}")
        try:
            raise RuntimeError(f"login failed for password {credentials.user_password}")
        except RuntimeError:
            logger.exception("with_traceback", api_key=credentials.api_key)
