"""The fleet's deployment pieces: the Prometheus rules (promtool check rules
and promtool test rules, which fire each alert on synthetic series), and the
Kubernetes manifests' two replicas sharing one flags store."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SY_BIN = os.environ.get("SY_BIN", str(REPO / "build" / "switchyard"))
PROM = REPO / "deploy" / "prometheus"
K8S = REPO / "deploy" / "kubernetes"


class PrometheusRulesTest(unittest.TestCase):
    def setUp(self):
        self.promtool = shutil.which("promtool")
        self.assertIsNotNone(self.promtool, "promtool missing: deploy/install-deps.sh installs prometheus")

    def test_rules_check(self):
        r = subprocess.run([self.promtool, "check", "rules", str(PROM / "switchyard-rules.yaml")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        print("\n" + r.stdout.strip())

    def test_alerts_fire_as_documented(self):
        # Mismatch rate 2 %: warning only; 5 %: critical; a sidecar one change
        # behind: no alert at 15 s, an alert at 45 s; the store down for 1 min.
        r = subprocess.run([self.promtool, "test", "rules", "switchyard-rules.test.yaml"], cwd=PROM,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_thresholds(self):
        rules = yaml.safe_load((PROM / "switchyard-rules.yaml").read_text())
        alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
        self.assertTrue(alerts["SwitchyardShadowMismatchRateWarning"]["expr"].endswith("> 0.01"))
        self.assertEqual(alerts["SwitchyardShadowMismatchRateWarning"]["labels"]["severity"], "warning")
        self.assertTrue(alerts["SwitchyardShadowMismatchRateCritical"]["expr"].endswith("> 0.03"))
        self.assertEqual(alerts["SwitchyardShadowMismatchRateCritical"]["labels"]["severity"], "critical")
        self.assertEqual(alerts["SwitchyardSidecarBehindFleetFlags"]["for"], "30s")


class KubernetesFleetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = {}
        kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
        for res in kust["resources"]:
            for d in yaml.safe_load_all((K8S / res).read_text()):
                if d:
                    cls.docs[d["kind"]] = d
        cls.config = yaml.safe_load(cls.docs["ConfigMap"]["data"]["config.yaml"])

    def test_two_replicas_share_the_store(self):
        deploy = self.docs["Deployment"]
        self.assertEqual(deploy["spec"]["replicas"], 2)
        store = self.config["flags_store"]
        listener = self.config["listeners"][0]
        target = listener["targets"][store["target"]]
        for key in ("user", "password_env", "database"):
            self.assertIn(key, target)
        # Every replica mounts the same ConfigMap, so the same store.
        volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["switchyard-config"]["configMap"]["name"], self.docs["ConfigMap"]["metadata"]["name"])
        sidecar = next(c for c in deploy["spec"]["template"]["spec"]["containers"] if c["name"] == "switchyard")
        env = {e["name"]: e for e in sidecar["env"]}
        ref = env[target["password_env"]]["valueFrom"]["secretKeyRef"]
        self.assertIn(ref["key"], self.docs["Secret"]["stringData"])
        # Each sidecar's heartbeat row is keyed by its pod's name.
        self.assertEqual(env["SWITCHYARD_SIDECAR_ID"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")

    def test_init_job_creates_the_tables(self):
        job = self.docs["Job"]
        c = job["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["args"], ["init-flags-store", "-c", "/etc/switchyard/config.yaml"])
        self.assertEqual(c["image"], next(x["image"] for x in self.docs["Deployment"]["spec"]["template"]["spec"]["containers"]
                                         if x["name"] == "switchyard"))
        self.assertIn(self.config["listeners"][0]["targets"][self.config["flags_store"]["target"]]["password_env"],
                      {e["name"] for e in c["env"]})


class InitFlagsStoreExitTest(unittest.TestCase):
    """init-flags-store's exit statuses without a store to reach (the tables
    themselves are created, twice, in test_fleet_flags)."""

    def run_with(self, extra):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "c.yaml"
            path.write_text("listeners:\n  - name: pg\n    listen: 127.0.0.1:6432\n    targets:\n"
                            "      legacy: { address: 127.0.0.1:1, user: sy, database: app }\n" + extra)
            return subprocess.run([SY_BIN, "init-flags-store", "-c", str(path)], capture_output=True, text=True,
                                  timeout=60)

    def test_no_flags_store_is_1(self):
        r = self.run_with("")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("has no flags_store section", r.stderr)

    def test_unreachable_store_is_2(self):
        r = self.run_with("flags_store: { target: legacy }\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("cannot log in", r.stderr)

    def test_unknown_target_is_a_config_error(self):
        r = self.run_with("flags_store: { target: nowhere }\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no target named", r.stderr)


if __name__ == "__main__":
    unittest.main()
