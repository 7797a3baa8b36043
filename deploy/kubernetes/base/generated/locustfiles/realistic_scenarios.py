"""Realistic SecureNet users: analyst, IT admin and viewer workflows, one per logged-in role."""

import random
import time

from locust import HttpUser, SequentialTaskSet, between, task

from service.plugin import BearerAuth, credentials


class SecurityAnalystWorkflow(SequentialTaskSet):
    """Realistic security analyst workflow"""

    @task
    def morning_routine(self):
        """Morning security check routine"""
        # Check overnight alerts
        self.client.get("/api/alerts?since=24h", headers=self.user.headers, name="/api/alerts")

        # Review threat dashboard
        self.client.get("/api/dashboard", headers=self.user.headers)

        # Check critical threats
        self.client.get(
            "/api/threats?severity=critical", headers=self.user.headers, name="/api/threats"
        )

        # Review scan results
        self.client.get(
            "/api/scans?status=completed&since=24h", headers=self.user.headers, name="/api/scans"
        )

    @task
    def investigate_threat(self):
        """Investigate a specific threat"""
        # Get threat details
        threat_id = f"threat_{random.randint(1, 1000)}"
        self.client.get(
            f"/api/threats/{threat_id}", headers=self.user.headers, name="/api/threats/[id]"
        )

        # Get related network data
        self.client.get(
            f"/api/threats/{threat_id}/network-data",
            headers=self.user.headers,
            name="/api/threats/[id]/network-data",
        )

        # Check affected devices
        self.client.get(
            f"/api/threats/{threat_id}/devices",
            headers=self.user.headers,
            name="/api/threats/[id]/devices",
        )

        # Update threat status
        update_data = {"status": "investigating", "assigned_to": "analyst_1"}
        self.client.put(
            f"/api/threats/{threat_id}",
            json=update_data,
            headers=self.user.headers,
            name="/api/threats/[id]",
        )

    @task
    def run_targeted_scan(self):
        """Run a targeted security scan"""
        scan_data = {
            "scan_type": "targeted_vulnerability",
            "target": f"192.168.{random.randint(1, 10)}.{random.randint(1, 254)}",
            "priority": "high",
            "scan_options": {
                "port_scan": True,
                "vulnerability_scan": True,
                "compliance_check": True,
            },
        }

        # Start scan
        response = self.client.post("/api/scans", json=scan_data, headers=self.user.headers)

        if response.status_code in [200, 201, 202]:  # the scan API answers 202: it is async
            scan_id = response.json().get("scan_id")

            # Monitor scan progress
            for _ in range(5):
                time.sleep(2)
                self.client.get(
                    f"/api/scans/{scan_id}/status",
                    headers=self.user.headers,
                    name="/api/scans/[id]/status",
                )

    @task
    def generate_report(self):
        """Generate security report"""
        report_data = {
            "report_type": "weekly_summary",
            "date_range": {
                "start": time.time() - (7 * 24 * 3600),  # 7 days ago
                "end": time.time(),
            },
            "include_sections": ["threats", "vulnerabilities", "compliance"],
        }

        self.client.post("/api/reports", json=report_data, headers=self.user.headers)


class ITAdminWorkflow(SequentialTaskSet):
    """IT Administrator workflow"""

    @task
    def system_health_check(self):
        """Check system health and performance"""
        # System metrics
        self.client.get("/api/admin/metrics", headers=self.user.headers)

        # Service status
        self.client.get("/api/admin/services/status", headers=self.user.headers)

        # Resource usage
        self.client.get("/api/admin/resources", headers=self.user.headers)

    @task
    def user_management(self):
        """Manage users and permissions"""
        # List users
        self.client.get("/api/admin/users", headers=self.user.headers)

        # Check user activity
        self.client.get("/api/admin/users/activity", headers=self.user.headers)

        # Update user permissions
        user_id = f"user_{random.randint(1, 100)}"
        permission_data = {"permissions": ["read_threats", "run_scans"], "role": "analyst"}
        self.client.put(
            f"/api/admin/users/{user_id}/permissions",
            json=permission_data,
            headers=self.user.headers,
            name="/api/admin/users/[id]/permissions",
        )

    @task
    def tenant_management(self):
        """Manage tenant configurations"""
        # List tenants
        self.client.get("/api/admin/tenants", headers=self.user.headers)

        # Check tenant usage
        self.client.get("/api/admin/tenants/usage", headers=self.user.headers)

        # Update tenant settings
        tenant_id = f"tenant_{random.randint(1, 50)}"
        settings_data = {"scan_limits": {"daily": 100, "monthly": 3000}, "retention_days": 90}
        self.client.put(
            f"/api/admin/tenants/{tenant_id}/settings",
            json=settings_data,
            headers=self.user.headers,
            name="/api/admin/tenants/[id]/settings",
        )


class ViewerWorkflow(SequentialTaskSet):
    """Read-only viewer workflow"""

    @task
    def browse_dashboard(self):
        """Browse various dashboards"""
        dashboards = ["overview", "threats", "network", "compliance"]

        for dashboard in dashboards:
            self.client.get(f"/api/dashboard/{dashboard}", headers=self.user.headers)
            time.sleep(random.uniform(2, 5))  # Reading time

    @task
    def view_reports(self):
        """View existing reports"""
        # List available reports
        self.client.get("/api/reports", headers=self.user.headers)

        # View specific reports
        for _ in range(3):
            report_id = f"report_{random.randint(1, 100)}"
            self.client.get(
                f"/api/reports/{report_id}", headers=self.user.headers, name="/api/reports/[id]"
            )

    @task
    def search_data(self):
        """Search through security data"""
        search_terms = ["malware", "intrusion", "vulnerability", "compliance"]

        for term in random.sample(search_terms, 2):
            params = {"q": term, "limit": 20}
            self.client.get(
                "/api/search", params=params, headers=self.user.headers, name="/api/search"
            )


WORKFLOWS = {
    "analyst": SecurityAnalystWorkflow,
    "admin": ITAdminWorkflow,
    "viewer": ViewerWorkflow,
}


class RealisticSecureNetUser(BearerAuth, HttpUser):
    """Realistic user combining different workflows"""

    wait_time = between(5, 15)  # Realistic thinking time
    tasks = list(WORKFLOWS.values())  # narrowed to the logged-in role's workflow in on_start

    def on_start(self):
        # Assign user role once: the workflow must match the role the token carries.
        self.role = random.choice(list(WORKFLOWS))
        self.tasks = [WORKFLOWS[self.role]]
        self.login()

    def login(self):
        """Role-based login"""
        credentials_by_role = {
            "analyst": (f"analyst_{random.randint(1, 50)}", credentials.analyst_password),
            "admin": (f"admin_{random.randint(1, 10)}", credentials.admin_role_password),
            "viewer": (f"viewer_{random.randint(1, 100)}", credentials.viewer_password),
        }
        username, password = credentials_by_role[self.role]

        response = self.client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        if response.status_code == 200:
            self.accept_token(response)
