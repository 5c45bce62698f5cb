"""Deployment artefacts under deploy/: the Dockerfile (linted; Docker itself is
not needed), the Kubernetes manifests, the systemd unit and the Grafana
dashboard, each checked against the real binary where that is possible:
the runtime image's packages against `ldd` of the build, the ConfigMap's
config against `switchyard check-config`, the unit with `systemd-analyze
verify`, and every metric the dashboard queries against the /metrics of a
running proxy. No database is needed."""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from harness import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SY_BIN = os.environ.get("SY_BIN", str(REPO / "build" / "switchyard"))
DEFAULT_DRAIN_S = 30  # runtime.drain_timeout_ms default (README "Config reference")


def have_binary():
    return os.path.isfile(SY_BIN) and os.access(SY_BIN, os.X_OK)


def require_binary(test):
    if not have_binary():
        test.skipTest(f"switchyard binary not found at {SY_BIN} (set SY_BIN or build it first); "
                      "this check needs the real binary")


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------

DOCKER_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
    "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
    "HEALTHCHECK", "SHELL",
}

# Shared libraries every image has (libc6, libstdc++6, libgcc-s1 are in
# bookworm-slim) or that are not files at all.
BASE_LIBS = re.compile(r"^(linux-vdso|linux-gate|ld-linux|libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)[.-]")


def parse_dockerfile(text):
    """[(line number, INSTRUCTION, arguments)] with continuations joined.

    As Docker does: `#` lines are comments (also inside a continued
    instruction), a trailing backslash continues the instruction on the next
    line, blank lines inside a continuation are skipped."""
    out = []
    current, start = None, 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue
        if current is None:
            if not stripped:
                continue
            current, start = "", n
        elif not stripped:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].rstrip() + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((start, word, rest.strip()))
        current = None
    if current is not None:
        raise AssertionError(f"Dockerfile ends inside a continued instruction (line {start})")
    return out


def split_stages(instructions):
    stages = []
    for n, word, args in instructions:
        if word.upper() == "FROM":
            tokens = [t for t in args.split() if not t.startswith("--")]
            name = tokens[2] if len(tokens) >= 3 and tokens[1].upper() == "AS" else None
            stages.append({"image": tokens[0], "name": name, "line": n, "body": []})
        elif word.upper() in ("ARG",) and not stages:
            continue
        else:
            if not stages:
                raise AssertionError(f"line {n}: {word} before the first FROM")
            stages[-1]["body"].append((n, word.upper(), args))
    return stages


def apt_installed_packages(run_args):
    """Package names passed to `apt-get install` in one RUN command."""
    packages = []
    for part in re.split(r"&&|;|\|\|", run_args):
        words = shlex.split(part)
        # drop leading VAR=value assignments
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words.pop(0)
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            after = words[words.index("install") + 1:]
            packages += [w for w in after if not w.startswith("-")]
    return packages


def dpkg_package_of(path):
    """The Debian package that ships `path` (trying its resolved /usr path)."""
    candidates = [path, os.path.realpath(path)]
    if path.startswith("/lib"):
        candidates.append("/usr" + path)
    for c in dict.fromkeys(candidates):
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            # "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3"
            line = r.stdout.splitlines()[0]
            return line.split(": ", 1)[0].split(",")[0].split(":")[0].strip()
    return None


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = DEPLOY / "Dockerfile"
        cls.text = cls.path.read_text()
        cls.instructions = parse_dockerfile(cls.text)
        cls.stages = split_stages(cls.instructions)
        cls.final = cls.stages[-1]

    def stage_body(self, stage, word):
        return [args for _, w, args in stage["body"] if w == word]

    def test_instructions_are_valid(self):
        self.assertTrue(self.instructions, "no instructions parsed")
        for n, word, args in self.instructions:
            self.assertEqual(word, word.upper(), f"line {n}: write instructions in upper case: {word}")
            self.assertIn(word.upper(), DOCKER_INSTRUCTIONS, f"line {n}: not a Dockerfile instruction: {word}")
            self.assertTrue(args, f"line {n}: {word} without arguments")

    def test_parser_handles_continuations(self):
        sample = "FROM a AS b\n# c\nRUN x \\\n  # inside\n  y \\\n\n  z\nUSER 1\n"
        self.assertEqual(parse_dockerfile(sample),
                         [(1, "FROM", "a AS b"), (3, "RUN", "x y z"), (8, "USER", "1")])

    def test_stages_are_bookworm(self):
        self.assertGreaterEqual(len(self.stages), 2, "expected a builder and a runtime stage")
        for s in self.stages:
            self.assertRegex(s["image"], r"^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$",
                             f"line {s['line']}: stage image {s['image']}")
        self.assertTrue(self.final["image"].startswith("debian:bookworm-slim"),
                        f"runtime stage should be bookworm-slim, is {self.final['image']}")
        names = [s["name"] for s in self.stages if s["name"]]
        self.assertEqual(len(names), len(set(names)), "duplicate stage names")

    def test_builder_builds_only_the_proxy(self):
        builder = self.stages[0]
        runs = " ".join(self.stage_body(builder, "RUN"))
        self.assertIn("-DSWITCHYARD_TESTS=OFF", runs)
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", runs)
        self.assertRegex(runs, r"cmake --build build --target switchyard\b")
        packages = set(p for r in self.stage_body(builder, "RUN") for p in apt_installed_packages(r))
        for p in ["cmake", "ninja-build", "g++", "libboost-dev", "libboost-system-dev", "libssl-dev",
                  "libpg-query-dev", "libspdlog-dev", "libfmt-dev", "libyaml-cpp-dev", "rapidjson-dev", "libcli11-dev",
                  "pkg-config", "libpq-dev", "libmariadb-dev"]:
            self.assertIn(p, packages, f"builder stage does not install {p}")

    def test_apt_hygiene(self):
        found = 0
        for stage in self.stages:
            for args in self.stage_body(stage, "RUN"):
                if not apt_installed_packages(args):
                    continue
                found += 1
                self.assertIn("--no-install-recommends", args, f"apt-get install without --no-install-recommends: {args[:80]}")
                self.assertRegex(args, r"apt-get update", "apt-get install without apt-get update in the same RUN")
                self.assertRegex(args, r"rm -rf /var/lib/apt/lists(/\*)?", f"RUN does not clean /var/lib/apt/lists: {args[:80]}")
                self.assertRegex(args, r"\s-y\b|--yes|--assume-yes", "apt-get install needs -y")
        self.assertGreaterEqual(found, 2, "expected apt-get install in both stages")

    def test_runtime_stage(self):
        final = self.final
        users = self.stage_body(final, "USER")
        self.assertTrue(users, "the runtime stage has no USER: it would run as root")
        user = users[-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"), "the runtime stage runs as root")
        # The user is created in the image (or is a plain uid).
        runs = " ".join(self.stage_body(final, "RUN"))
        if not user.isdigit():
            self.assertRegex(runs, rf"useradd\b[^&]*\b{re.escape(user)}\b", f"user {user} is never created")
        else:
            self.assertRegex(runs, rf"useradd\b[^&]*--uid {user}\b", f"no user with uid {user} is created")

        copies = self.stage_body(final, "COPY")
        builder_names = {s["name"] for s in self.stages[:-1]} | {str(i) for i in range(len(self.stages) - 1)}
        self.assertTrue(any(re.search(r"--from=(\S+)", c) and re.search(r"--from=(\S+)", c).group(1) in builder_names
                            and c.split()[-1] == "/usr/local/bin/switchyard" for c in copies),
                        f"no COPY --from=<builder> ... /usr/local/bin/switchyard in {copies}")

        exposed = set(" ".join(self.stage_body(final, "EXPOSE")).split())
        self.assertTrue({"6432", "9187"} <= {p.split("/")[0] for p in exposed}, f"EXPOSE {exposed}")

        hc = self.stage_body(final, "HEALTHCHECK")
        self.assertEqual(len(hc), 1, "exactly one HEALTHCHECK")
        self.assertRegex(hc[0], r"\bCMD\b.*curl -fsS http://127\.0\.0\.1:9187/healthz")

        entry = self.stage_body(final, "ENTRYPOINT")
        cmd = self.stage_body(final, "CMD")
        self.assertEqual(len(entry), 1)
        self.assertEqual(len(cmd), 1)
        self.assertEqual(json.loads(entry[0]), ["/usr/local/bin/switchyard"], "ENTRYPOINT must be JSON (exec) form")
        self.assertEqual(json.loads(cmd[0]), ["run", "-c", "/etc/switchyard/config.yaml"], "CMD must be JSON (exec) form")

        packages = set(p for r in self.stage_body(final, "RUN") for p in apt_installed_packages(r))
        self.assertIn("curl", packages, "the HEALTHCHECK needs curl")
        self.assertFalse({p for p in packages if p.endswith("-dev")}, "no -dev packages in the runtime stage")

    def test_runtime_packages_cover_ldd(self):
        require_binary(self)
        if not shutil.which("ldd") or not shutil.which("dpkg"):
            self.skipTest("ldd or dpkg not available: cannot map the binary's libraries to packages")
        r = subprocess.run(["ldd", SY_BIN], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, f"ldd {SY_BIN}: {r.stderr}")
        runtime = set(p for a in self.stage_body(self.final, "RUN") for p in apt_installed_packages(a))
        # The binary's own NEEDED entries; what those libraries need in turn
        # (libpq's Kerberos and LDAP, say) arrives with their packages' dependencies.
        direct = None
        if shutil.which("objdump"):
            dyn = subprocess.run(["objdump", "-p", SY_BIN], capture_output=True, text=True).stdout
            direct = set(re.findall(r"^\s*NEEDED\s+(\S+)", dyn, re.M))
        needed = {}
        for line in r.stdout.splitlines():
            m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
            if not m:
                continue  # vdso, ld-linux without "=>"
            soname, path = m.groups()
            if direct is not None and soname not in direct:
                continue
            self.assertNotEqual(path, "not", f"ldd: {soname} not found")
            if BASE_LIBS.match(soname):
                continue
            # A sanitizer build (tests/run.sh SY_SANITIZE) links its runtime;
            # the image is built without one.
            if os.environ.get("SY_SANITIZE") and re.match(r"lib(asan|ubsan|tsan|lsan)\.so", soname):
                continue
            pkg = dpkg_package_of(path)
            self.assertIsNotNone(pkg, f"dpkg -S: no package ships {path} ({soname})")
            needed[soname] = pkg
        self.assertTrue(needed, "ldd reported no libraries beyond libc/libstdc++: unexpected")
        for soname, pkg in needed.items():
            self.assertIn(pkg, runtime, f"{soname} comes from {pkg}, which the runtime stage does not install "
                                        f"(it installs {sorted(runtime)})")

    def test_packages_exist_in_apt(self):
        if not shutil.which("apt-cache"):
            self.skipTest("apt-cache not available")
        packages = sorted({p for stage in self.stages for args in self.stage_body(stage, "RUN")
                           for p in apt_installed_packages(args)})
        r = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True, timeout=60)
        candidates = dict(re.findall(r"^(\S+):\n  Installed: .*\n  Candidate: (.*)$", r.stdout, re.M))
        for p in packages:
            self.assertNotIn(candidates.get(p, "(none)"), ("(none)",),
                             f"apt-cache (this host's bookworm sources) has no package {p}")

    def test_dockerignore(self):
        ignore = (REPO / ".dockerignore").read_text().split("\n")
        patterns = {l.strip().rstrip("/") for l in ignore if l.strip() and not l.startswith("#")}
        for p in (".git", "build"):
            self.assertIn(p, patterns, f".dockerignore does not exclude {p}")
        self.assertTrue(any(p.endswith("node_modules") for p in patterns), ".dockerignore does not exclude node_modules")
        # Nothing the build needs is excluded.
        for needed in ("CMakeLists.txt", "protocol", "config", "rewrite", "proxy"):
            self.assertNotIn(needed, patterns)


# --------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------

K8S = DEPLOY / "kubernetes"


def load_manifests():
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = {}
    for res in kust.get("resources", []):
        for doc in yaml.safe_load_all((K8S / res).read_text()):
            if doc is not None:
                docs[(doc.get("kind"), doc.get("metadata", {}).get("name"))] = (res, doc)
    return kust, docs


def endpoint(text):
    host, _, port = str(text).rpartition(":")
    return host, int(port)


class KubernetesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kust, cls.docs = load_manifests()
        cls.deploy = cls.one("Deployment")
        cls.cm = cls.one("ConfigMap")
        cls.secret = cls.one("Secret")
        cls.config = yaml.safe_load(cls.cm["data"]["config.yaml"])
        spec = cls.deploy["spec"]["template"]["spec"]
        cls.pod = spec
        cls.containers = {c["name"]: c for c in spec["containers"]}

    @classmethod
    def one(cls, kind):
        found = [d for (k, _), (_, d) in cls.docs.items() if k == kind]
        assert len(found) == 1, f"expected one {kind}, found {len(found)}"
        return found[0]

    def test_every_manifest_parses(self):
        files = sorted(K8S.glob("*.yaml")) + sorted(K8S.glob("*.yml"))
        self.assertTrue(files)
        for f in files:
            docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
            self.assertTrue(docs, f"{f.name}: empty")
            for d in docs:
                self.assertIsInstance(d, dict, f"{f.name}: not a mapping")
                self.assertIn("apiVersion", d, f"{f.name}: no apiVersion")
                self.assertIn("kind", d, f"{f.name}: no kind")
                if d["kind"] != "Kustomization":  # kustomize needs no metadata
                    self.assertTrue(d.get("metadata", {}).get("name"), f"{f.name}: no metadata.name")

    def test_kustomization(self):
        self.assertEqual(self.kust["kind"], "Kustomization")
        self.assertTrue(self.kust["apiVersion"].startswith("kustomize.config.k8s.io/"))
        listed = set(self.kust["resources"])
        for res in listed:
            self.assertTrue((K8S / res).is_file(), f"kustomization lists missing {res}")
        others = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
        self.assertEqual(listed, others, "kustomization resources differ from the manifests in the directory")
        kinds = {k for k, _ in self.docs}
        self.assertTrue({"Deployment", "ConfigMap", "Secret"} <= kinds, kinds)

    def test_app_container(self):
        app = self.containers["app"]
        self.assertEqual(app["image"], "ghcr.io/example/orders-app:1.0")
        env = {e["name"]: e.get("value") for e in app.get("env", [])}
        self.assertEqual(env.get("DATABASE_URL"), "postgresql://app@127.0.0.1:6432/app")
        # The URL reaches the sidecar's listener, and the tenant matches its database.
        listener = self.config["listeners"][0]
        self.assertEqual(endpoint(listener["listen"]), ("127.0.0.1", 6432))
        self.assertEqual(self.config["tenants"][0]["match"].get("database", "app"), "app")

    def test_sidecar_container(self):
        sy = self.containers["switchyard"]
        self.assertEqual(sy["image"], "switchyard:0.1.0")
        self.assertEqual(sy["args"], ["run", "-c", "/etc/switchyard/config.yaml"])
        ports = {p["containerPort"]: p for p in sy["ports"]}
        self.assertEqual(set(ports), {6432, 9187})
        names = {p["name"]: p["containerPort"] for p in sy["ports"]}
        for p in sy["ports"]:
            self.assertRegex(p["name"], r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$", "IANA_SVC_NAME")

        def port_of(probe):
            port = probe["httpGet"]["port"]
            return names.get(port, port)

        self.assertEqual(sy["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertEqual(port_of(sy["readinessProbe"]), 9187)
        self.assertEqual(sy["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(port_of(sy["livenessProbe"]), 9187)

        res = sy["resources"]
        self.assertEqual(str(res["requests"]["cpu"]), "100m")
        self.assertEqual(str(res["limits"]["cpu"]), "1")
        self.assertEqual(res["requests"]["memory"], "64Mi")
        self.assertEqual(res["limits"]["memory"], "256Mi")

        sc = sy["securityContext"]
        self.assertIs(sc["runAsNonRoot"], True)
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        # runAsNonRoot needs a numeric uid, from the image's USER or here.
        uid = sc.get("runAsUser", self.pod.get("securityContext", {}).get("runAsUser"))
        dockerfile_users = [a for _, w, a in parse_dockerfile((DEPLOY / "Dockerfile").read_text()) if w == "USER"]
        self.assertTrue((uid and uid != 0) or dockerfile_users[-1].split(":")[0].isdigit(),
                        "runAsNonRoot cannot verify a non-numeric image USER without runAsUser")

        env = {e["name"]: e for e in sy["env"]}
        ref = env["SY_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]
        self.assertEqual(ref["key"], "admin-token")
        self.assertEqual(ref["name"], self.secret["metadata"]["name"])
        self.assertIn("admin-token", self.secret.get("stringData", {}))
        self.assertEqual(self.config["admin"]["token_env"], "SY_ADMIN_TOKEN")

    def test_volumes(self):
        sy = self.containers["switchyard"]
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        mounts = {m["mountPath"]: m for m in sy["volumeMounts"]}
        cfg = mounts["/etc/switchyard"]
        self.assertIs(cfg.get("readOnly"), True)
        self.assertEqual(volumes[cfg["name"]]["configMap"]["name"], self.cm["metadata"]["name"])
        self.assertEqual(self.cm["metadata"]["name"], "switchyard-config")
        # The config path the container runs with is the ConfigMap's key.
        self.assertEqual(sy["args"][-1], "/etc/switchyard/" + "config.yaml")
        self.assertIn("config.yaml", self.cm["data"])
        state = mounts["/var/lib/switchyard"]
        self.assertIn("emptyDir", volumes[state["name"]])
        self.assertFalse(state.get("readOnly", False))
        self.assertEqual(self.config["state_file"], "/var/lib/switchyard/flags.json")

    def test_pod_metadata(self):
        tmpl = self.deploy["spec"]["template"]
        ann = tmpl["metadata"]["annotations"]
        self.assertEqual(ann.get("prometheus.io/scrape"), "true")
        self.assertEqual(ann.get("prometheus.io/port"), "9187")
        self.assertEqual(ann.get("prometheus.io/path"), "/metrics")
        for k, v in self.deploy["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(tmpl["metadata"]["labels"].get(k), v, "selector does not match the pod labels")
        drain_ms = self.config.get("runtime", {}).get("drain_timeout_ms", DEFAULT_DRAIN_S * 1000)
        self.assertGreater(self.pod.get("terminationGracePeriodSeconds", 30), drain_ms / 1000,
                           "the pod is killed before switchyard's drain ends")

    def test_admin_reachable_by_kubelet(self):
        # Probes and the Prometheus scrape come to the pod IP, not loopback.
        host, port = endpoint(self.config["admin"]["listen"])
        self.assertEqual(host, "0.0.0.0")
        self.assertEqual(port, 9187)

    def test_configmap_config(self):
        t = self.config["tenants"]
        self.assertEqual([x["name"] for x in t], ["orders"])
        self.assertEqual(t[0]["phase"], "observe")
        self.assertEqual(t[0]["migrations"], ["order_status"])
        listener = self.config["listeners"][0]
        self.assertEqual(listener.get("protocol", "postgres"), "postgres")
        targets = listener["targets"]
        primary = listener.get("primary", next(iter(targets)))
        self.assertEqual(targets[primary]["address"], "orders-db.default.svc.cluster.local:5432")
        self.assertEqual(targets[primary]["tls"]["mode"], "prefer")
        example = yaml.safe_load((REPO / "config" / "examples" / "orders.yaml").read_text())
        self.assertEqual(self.config["migrations"]["order_status"], example["migrations"]["order_status"])

    def test_configmap_passes_check_config(self):
        require_binary(self)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "config.yaml"
            path.write_text(self.cm["data"]["config.yaml"])
            r = subprocess.run([SY_BIN, "check-config", "-c", str(path)], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"check-config:\n{r.stdout}{r.stderr}")

    def test_schema_validators(self):
        tool = shutil.which("kubeconform") or shutil.which("kubeval")
        if not tool:
            self.skipTest("neither kubeconform nor kubeval on PATH: structural checks only")
        files = [str(K8S / r) for r in self.kust["resources"]]
        args = [tool, "-strict", "-summary"] if tool.endswith("kubeconform") else [tool, "--strict"]
        r = subprocess.run(args + files, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, f"{Path(tool).name}:\n{r.stdout}{r.stderr}")


# --------------------------------------------------------------------------
# systemd
# --------------------------------------------------------------------------

UNIT = DEPLOY / "systemd" / "switchyard.service"


def parse_unit(text):
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not key=value: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def timespan_seconds(text):
    units = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "ms": 0.001, "msec": 0.001,
             "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600}
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text):
        total += float(num) * units[unit]
    return total


class SystemdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = UNIT.read_text()
        cls.unit = parse_unit(cls.text)
        cls.svc = {k: v[-1] for k, v in cls.unit["Service"].items()}

    def test_service(self):
        s = self.svc
        self.assertEqual(s["Type"], "simple")
        self.assertEqual(s["ExecStart"], "/usr/local/bin/switchyard run -c /etc/switchyard/config.yaml")
        self.assertRegex(s["ExecReload"], r"^/bin/kill -(HUP|SIGHUP|s HUP) \$MAINPID$", "ExecReload must send SIGHUP")
        self.assertEqual(s["Restart"], "on-failure")
        self.assertEqual(timespan_seconds(s["RestartSec"]), 2)
        self.assertEqual(s["KillSignal"], "SIGTERM")
        self.assertGreater(timespan_seconds(s["TimeoutStopSec"]), DEFAULT_DRAIN_S,
                           "TimeoutStopSec must outlast drain_timeout_ms (30 s)")
        self.assertEqual(s["User"], "switchyard")
        self.assertEqual(s["Group"], "switchyard")
        self.assertEqual(s["StateDirectory"], "switchyard")
        self.assertEqual(s["EnvironmentFile"], "-/etc/switchyard/env")
        self.assertEqual(s["LimitNOFILE"], "65536")
        self.assertIn("WantedBy", self.unit["Install"])

    def test_hardening(self):
        s = self.svc
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                    "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "RestrictNamespaces",
                    "LockPersonality", "MemoryDenyWriteExecute"):
            self.assertIn(s.get(key), ("yes", "true", "1", "on"), f"{key}={s.get(key)}")
        self.assertEqual(s["ProtectSystem"], "strict")
        self.assertEqual(set(s["RestrictAddressFamilies"].split()), {"AF_INET", "AF_INET6", "AF_UNIX"})
        self.assertEqual(s["SystemCallArchitectures"], "native")
        self.assertIn("CapabilityBoundingSet", s)
        self.assertEqual(s["CapabilityBoundingSet"], "", "CapabilityBoundingSet= must be empty (no capabilities)")

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if not tool:
            self.skipTest("systemd-analyze not installed")
        require_binary(self)
        with tempfile.TemporaryDirectory() as d:
            copy = Path(d) / "switchyard.service"
            copy.write_text(self.text.replace("/usr/local/bin/switchyard", os.path.abspath(SY_BIN)))
            r = subprocess.run([tool, "verify", str(copy)], capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        # Lines about our unit (other units on the host may have their own warnings).
        ours = [l for l in out.splitlines() if "switchyard.service" in l]
        user_only = [l for l in ours if re.search(r"user|group", l, re.I) and "switchyard" in l]
        problems = [l for l in ours if l not in user_only]
        if r.returncode != 0 and not problems and user_only:
            self.skipTest("systemd-analyze verify fails only because user switchyard does not exist here: "
                          + "; ".join(user_only))
        self.assertFalse(problems, f"systemd-analyze verify:\n{out}")
        self.assertEqual(r.returncode, 0, f"systemd-analyze verify exited {r.returncode}:\n{out}")


# --------------------------------------------------------------------------
# Grafana
# --------------------------------------------------------------------------

DASHBOARD = DEPLOY / "grafana" / "switchyard.json"
METRIC_RE = re.compile(r"\bswitchyard_[a-z0-9_]+")


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def exported_metric_families():
    """{name: type} from the # TYPE lines of a running proxy's /metrics."""
    port, admin = free_port(), free_port()
    config = f"""
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: "127.0.0.1:1" }}
admin:
  listen: 127.0.0.1:{admin}
tenants:
  - name: orders
    match: {{ listener: pg }}
    phase: observe
"""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "config.yaml"
        path.write_text(config)
        log = open(Path(d) / "log", "w+")
        proc = subprocess.Popen([SY_BIN, "run", "-c", str(path)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=2) as resp:
                        body = resp.read().decode()
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise AssertionError(f"proxy did not serve /metrics (exit {proc.poll()}):\n{log.read()}")
                    time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
    return dict(re.findall(r"^# TYPE (switchyard_\S+) (\S+)$", body, re.M))


class GrafanaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dash = json.loads(DASHBOARD.read_text())
        cls.panels = list(all_panels(cls.dash["panels"]))
        cls.exprs = [(p["title"], t["expr"]) for p in cls.panels for t in p.get("targets", []) if t.get("expr")]

    def panel(self, title_re):
        found = [p for p in self.panels if p["type"] != "row" and re.search(title_re, p["title"], re.I)]
        self.assertEqual(len(found), 1, f"panels matching {title_re!r}: {[p['title'] for p in found]}")
        return found[0]

    def test_dashboard_shape(self):
        self.assertGreaterEqual(self.dash["schemaVersion"], 36)
        self.assertTrue(self.dash.get("uid") and self.dash.get("title"))
        ids = [p["id"] for p in self.panels]
        self.assertEqual(len(ids), len(set(ids)), "duplicate panel ids")
        variables = {v["name"]: v for v in self.dash["templating"]["list"]}
        tenant = variables["tenant"]
        q = tenant["query"]["query"] if isinstance(tenant["query"], dict) else tenant["query"]
        self.assertEqual(q.replace(" ", ""), "label_values(switchyard_phase,tenant)")
        for p in self.panels:
            if p["type"] != "row":
                self.assertTrue(p.get("targets"), f"panel {p['title']} has no query")
        # No two panels overlap on the 24-column grid.
        cells = {}
        for p in self.panels:
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"{p['title']} overlaps {cells.get((x, y))}")
                    cells[(x, y)] = p["title"]

    def test_panels(self):
        self.assertIn('switchyard_phase{tenant=~"$tenant"} == 1', self.panel(r"^phase")["targets"][0]["expr"])
        self.assertIn("switchyard_canary_percent", self.panel(r"canary")["targets"][0]["expr"])
        self.assertRegex(self.panel(r"statements")["targets"][0]["expr"],
                         r"sum by \(tenant, kind\) \(rate\(switchyard_statements_total\b")
        self.assertRegex(self.panel(r"rewrite outcomes")["targets"][0]["expr"],
                         r"sum by \(tenant, outcome\) \(rate\(switchyard_rewrites_total\b")
        shadow = self.panel(r"mismatch")
        e = shadow["targets"][0]["expr"]
        self.assertRegex(e, r"switchyard_shadow_mismatches_total.*/.*switchyard_shadow_compared_total")
        steps = [s["value"] for s in shadow["fieldConfig"]["defaults"]["thresholds"]["steps"]]
        self.assertIn(0.01, steps)
        self.assertIn(0.03, steps)
        self.assertNotEqual(shadow["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"], "off")
        self.assertIn("switchyard_guard_trips_total", self.panel(r"guard")["targets"][0]["expr"])
        self.assertRegex(self.panel(r"backend errors")["targets"][0]["expr"], r"by \(target\)")
        self.assertIn("switchyard_client_connections", self.panel(r"client connections")["targets"][0]["expr"])
        for title, metric in ((r"overhead", "switchyard_statement_overhead_seconds_bucket"),
                              (r"rewrite duration", "switchyard_rewrite_duration_seconds_bucket")):
            exprs = [t["expr"] for t in self.panel(title)["targets"]]
            for q in ("0.5", "0.99"):
                self.assertIn(f"histogram_quantile({q}, sum by (le) (rate({metric}[5m])))", exprs)

    def test_queries_are_valid_promql(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not installed: PromQL syntax not checked")
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expr{i}", "expr": expr.replace("$tenant", ".*")}
            for i, (_, expr) in enumerate(self.exprs)]}]}
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "rules.yml"
            path.write_text(yaml.safe_dump(rules))
            r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"promtool check rules:\n{r.stdout}{r.stderr}")

    def test_metrics_are_exported(self):
        require_binary(self)
        families = exported_metric_families()
        self.assertIn("switchyard_phase", families, f"unexpected /metrics: {families}")
        used = set()
        for title, expr in self.exprs:
            for name in METRIC_RE.findall(expr):
                used.add(name)
                if name in families:
                    continue
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                self.assertEqual(families.get(base), "histogram",
                                 f"panel {title!r} queries {name}, which the proxy does not export")
        # Every family the proxy exports is on the dashboard, except shadow drops.
        unused = {f for f in families if f not in used and f + "_bucket" not in used}
        self.assertLessEqual(unused, {"switchyard_shadow_dropped_total"}, f"not on the dashboard: {unused}")


if __name__ == "__main__":
    unittest.main()
