"""SecureNet load scenarios: typical users, admins and automated high-volume clients."""

import json
import random
import time

from locust import HttpUser, between, task

from service.plugin import BearerAuth, credentials


class SecureNetUser(BearerAuth, HttpUser):
    """Simulates a typical SecureNet user"""

    wait_time = between(1, 5)  # Wait 1-5 seconds between tasks

    def on_start(self):
        """Called when a user starts - handles login"""
        self.tenant_id = f"tenant_{random.randint(1, 100)}"
        self.login()

    def login(self):
        """Authenticate user and get access token"""
        login_data = {
            "username": f"user_{random.randint(1, 1000)}",
            "password": credentials.user_password,
        }

        with self.client.post("/api/auth/login", json=login_data, catch_response=True) as response:
            if response.status_code == 200:
                if self.accept_token(response):
                    response.success()
                else:
                    response.failure("Failed to parse login response")
            else:
                response.failure(f"Login failed with status {response.status_code}")

    @task(3)
    def view_dashboard(self):
        """Most common task - viewing dashboard"""
        with self.client.get(
            "/api/dashboard", headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 200:
                response.success()
            elif response.status_code == 401:
                response.failure("Authentication failed")
                self.forget_token()  # Re-authenticate before the next request
            else:
                response.failure(f"Dashboard request failed: {response.status_code}")

    @task(2)
    def check_threats(self):
        """Check current threats"""
        params = {"tenant_id": self.tenant_id, "limit": 50}

        with self.client.get(
            "/api/threats",
            params=params,
            headers=self.headers,
            name="/api/threats",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                try:
                    threats = response.json()
                    threat_count = len(threats.get("threats", []))

                    # Record custom metric
                    self.environment.events.request.fire(
                        request_type="CUSTOM",
                        name="threats_found",
                        response_time=response.elapsed.total_seconds() * 1000,
                        response_length=threat_count,
                        exception=None,
                        context={},
                        response=None,
                        url=None,
                        start_time=time.time(),
                    )

                    response.success()
                except json.JSONDecodeError:
                    response.failure("Invalid JSON response")
            else:
                response.failure(f"Threats request failed: {response.status_code}")

    @task(2)
    def view_devices(self):
        """View network devices"""
        params = {"tenant_id": self.tenant_id}

        with self.client.get(
            "/api/devices",
            params=params,
            headers=self.headers,
            name="/api/devices",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"Devices request failed: {response.status_code}")

    @task(1)
    def run_vulnerability_scan(self):
        """Trigger vulnerability scan - less frequent but resource intensive"""
        scan_data = {
            "scan_type": "vulnerability",
            "target": f"192.168.{random.randint(1, 10)}.0/24",
            "tenant_id": self.tenant_id,
        }

        with self.client.post(
            "/api/scans", json=scan_data, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code in [200, 201, 202]:  # Accept async responses
                response.success()
            elif response.status_code == 429:  # Rate limited
                response.failure("Rate limited - scan rejected")
            else:
                response.failure(f"Scan request failed: {response.status_code}")

    @task(1)
    def check_scan_results(self):
        """Check results of previous scans"""
        params = {"tenant_id": self.tenant_id, "status": "completed"}

        with self.client.get(
            "/api/scans",
            params=params,
            headers=self.headers,
            name="/api/scans",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"Scan results request failed: {response.status_code}")

    @task(1)
    def update_settings(self):
        """Update user/tenant settings"""
        settings_data = {
            "notification_preferences": {
                "email": random.choice([True, False]),
                "slack": random.choice([True, False]),
            },
            "scan_frequency": random.choice(["hourly", "daily", "weekly"]),
        }

        with self.client.put(
            "/api/settings", json=settings_data, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code in [200, 204]:
                response.success()
            else:
                response.failure(f"Settings update failed: {response.status_code}")


class AdminUser(BearerAuth, HttpUser):
    """Simulates admin user with different behavior patterns"""

    wait_time = between(2, 8)
    weight = 1  # Lower weight = fewer admin users

    def on_start(self):
        """Admin login"""
        self.login()

    def login(self):
        login_data = {"username": "admin", "password": credentials.admin_password}

        with self.client.post("/api/auth/login", json=login_data, catch_response=True) as response:
            if response.status_code == 200 and self.accept_token(response):
                response.success()
            else:
                response.failure(f"Admin login failed with status {response.status_code}")

    @task(2)
    def view_admin_dashboard(self):
        """Admin-specific dashboard"""
        with self.client.get(
            "/api/admin/dashboard", headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"Admin dashboard failed: {response.status_code}")

    @task(2)
    def manage_tenants(self):
        """View and manage tenants"""
        with self.client.get(
            "/api/admin/tenants", headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"Tenant management failed: {response.status_code}")

    @task(1)
    def view_system_metrics(self):
        """View system-wide metrics"""
        with self.client.get(
            "/api/admin/metrics", headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"System metrics failed: {response.status_code}")

    @task(1)
    def audit_logs(self):
        """View audit logs"""
        params = {"limit": 100, "days": 7}

        with self.client.get(
            "/api/admin/audit",
            params=params,
            headers=self.headers,
            name="/api/admin/audit",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"Audit logs failed: {response.status_code}")


class HighVolumeUser(HttpUser):
    """Simulates high-volume API usage (automated systems)"""

    wait_time = between(0.1, 0.5)  # Very fast requests
    weight = 2

    def on_start(self):
        """API key authentication for automated systems"""
        self.headers = {"X-API-Key": credentials.api_key}

    @task(5)
    def stream_threat_data(self):
        """Continuous threat data streaming"""
        with self.client.get(
            "/api/threats/stream", headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"Threat stream failed: {response.status_code}")

    @task(3)
    def bulk_device_update(self):
        """Bulk device status updates"""
        device_updates = [
            {"device_id": f"device_{i}", "status": "online", "last_seen": time.time()}
            for i in range(random.randint(10, 50))
        ]

        with self.client.post(
            "/api/devices/bulk",
            json={"updates": device_updates},
            headers=self.headers,
            catch_response=True,
        ) as response:
            if response.status_code in [200, 202]:
                response.success()
            else:
                response.failure(f"Bulk update failed: {response.status_code}")

    @task(2)
    def submit_network_data(self):
        """Submit network monitoring data"""
        network_data = {
            "timestamp": time.time(),
            "source": f"sensor_{random.randint(1, 100)}",
            "data": [
                {
                    # Addresses are payload data only; nothing connects to them.
                    "src_ip": f"192.168.1.{random.randint(1, 254)}",
                    "dst_ip": f"10.0.0.{random.randint(1, 254)}",
                    "bytes": random.randint(64, 1500),
                    "protocol": random.choice(["TCP", "UDP", "ICMP"]),
                }
                for _ in range(random.randint(1, 20))
            ],
        }

        with self.client.post(
            "/api/network/data", json=network_data, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code in [200, 201, 202]:
                response.success()
            else:
                response.failure(f"Network data submission failed: {response.status_code}")
