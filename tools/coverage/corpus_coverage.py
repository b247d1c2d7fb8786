#!/usr/bin/env python3
"""Corpus coverage: does `sight import` + `sight build` reproduce real Compose projects?

For every project folder of CORPUS/compose (default ../shared/corpus, relative to the repo):
  1. copy its Compose files into a scratch folder and run `sight import compose` there;
  2. `sight build` the imported project (its docker-compose.yml lands beside the original);
  3. run `docker-compose -p x config --format json --no-path-resolution --no-env-resolution`
     on the original (with its override files) and on sight's docker-compose.yml, in an
     empty environment, and compare the two normalized models service by service.

A project is *equivalent* when no field differs after the normalization documented in
docs/corpus-coverage.md (and in NORMALIZATION below). The report lists, per project, the
differing fields and the features the import reported as not expressible.

    python3 tools/coverage/corpus_coverage.py                # print the report
    python3 tools/coverage/corpus_coverage.py --write docs/corpus-coverage.md
    python3 tools/coverage/corpus_coverage.py --check docs/corpus-coverage.md  # CI

With no corpus, it prints "skipped" and exits 0. `--check` fails when the committed report
differs from a fresh one or when fewer than --min-equivalent (default 80) percent of the
projects are equivalent. Needs `docker-compose` (the validators' venv) and a built sight.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Data directories of the store kinds (stdlib/kinds/store/*.toml): sight gives a store a
# named volume there, and a health check, even when the original has none.
STORE_DATA_DIRS = {
    "postgres": "/var/lib/postgresql/data",
    "redis": "/data",
    "mysql": "/var/lib/mysql",
    "mongo": "/data/db",
    "neo4j": "/data",
}
# Environment a store kind writes that equals the image's own default when absent.
STORE_IMAGE_DEFAULTS = {
    "postgres": lambda env: {"POSTGRES_USER": env.get("POSTGRES_USER", "postgres"),
                             "POSTGRES_DB": env.get("POSTGRES_DB", env.get("POSTGRES_USER", "postgres"))},
}
# The command a store kind adds that sets the server's own default.
STORE_DEFAULT_COMMANDS = {"postgres": ["postgres", "-c", "max_connections=100"]}

NORMALIZATION = """\
Both files go through `docker-compose -p x config --format json --no-path-resolution
--no-env-resolution` in an empty environment (so `${VAR:-default}` takes its default in both),
then:

- **Ignored everywhere**: the project `name`; `container_name` (sight never names containers,
  so that the dev and test stacks can run side by side; the service stays reachable by its
  service name); `expose` (documentation: containers on one network reach every port);
  `attach` and `develop` (they only change what `docker compose up`/`watch` print or sync);
  extension fields `x-*`.
- **Built services**: the image name and `pull_policy` (sight tags built images
  `<registry>/<service>:<target>` and sets `pull_policy: build`). The build context,
  Dockerfile, target and arguments are compared.
- **Ports**: compared as (published port, container port, protocol); the host address is
  ignored, since sight publishes development ports on 127.0.0.1 on purpose. A port
  sight publishes for a store (on 127.0.0.1) that the original did not is a sight addition.
- **Volumes**: the *name* of a named volume is ignored (its type, target and mode are
  compared; bind mounts also by source path). A named volume sight adds on a store's data
  directory is a sight addition (persistence).
- **Health checks**: one that sight adds where the original has none is ignored (stores
  always have one); a store's own check replaces the original's (the stdlib's probes are the
  reviewed ones, FACTS §6). Otherwise test, interval, timeout, retries and start period are
  compared with Docker's defaults filled in.
- **depends_on**: the targets are compared; `service_healthy` where the original said
  `service_started` is ignored (sight waits for health whenever the dependency has a check);
  `service_completed_successfully` is compared.
- **Stores**: a plain `POSTGRES_PASSWORD=v` equals `POSTGRES_PASSWORD_FILE=/run/secrets/s`
  when the secret `s` that the import wrote holds `v` (the official images read `*_FILE`);
  variables the kind writes with the image's default value (`POSTGRES_USER=postgres`) and a
  command that only sets the server's default (`max_connections=100`) are equivalent to
  their absence.
- Everything else (environment, command, entrypoint, user, restart, networks, secrets,
  profiles, env files, labels, limits, tmpfs, tty, …) is compared as Compose normalizes it.
"""


def run(cmd, cwd, env=None):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def clean_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}


def compose_profiles(folder, files):
    args = ["docker-compose"]
    for f in files:
        args += ["-f", f]
    result = run(args + ["-p", "x", "config", "--profiles", "--no-env-resolution"], folder, clean_env())
    return [p for p in result.stdout.split() if p] if result.returncode == 0 else []


def compose_config(folder, files, profile=None):
    args = ["docker-compose"]
    for f in files:
        args += ["-f", f]
    if profile:
        args += ["--profile", profile]
    args += ["-p", "x", "config", "--format", "json", "--no-path-resolution", "--no-env-resolution"]
    result = run(args, folder, clean_env())
    if result.returncode != 0:
        return None, (result.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(result.stdout), None


def norm_path(p, folder=None):
    if isinstance(p, str) and folder and p.startswith(folder + "/"):
        p = p[len(folder) + 1:]
    if not isinstance(p, str) or p.startswith(("/", "~")):
        return p
    parts = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or "."


def duration_ms(text):
    if text is None:
        return None
    total, number = 0.0, ""
    units = {"ns": 1e-6, "us": 1e-3, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}
    for match in re.finditer(r"([0-9.]+)([a-z]+)", str(text)):
        total += float(match.group(1)) * units.get(match.group(2), 0)
    return round(total)


def store_kind(service):
    image = service.get("image") or ""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    name = repository.split("/")[-1]
    return name if name in STORE_DATA_DIRS else None


def read_secret(folder, config, name):
    source = (config.get("secrets") or {}).get(name, {})
    path = source.get("file")
    if not path:
        return None
    try:
        with open(os.path.join(folder, path)) as f:
            return f.read()
    except OSError:
        return None


def compare_service(name, orig, mine, sight_folder, sight_config, is_store):
    """Differences as a list of `field: detail` strings."""
    diffs = []
    kind = store_kind(mine) if is_store else None
    skip = {"container_name", "expose", "attach", "develop", "pull_policy", "name"}
    # A service-level `tmpfs` and a `volumes` entry of type tmpfs are the same mount.
    for service in (orig, mine):
        for target in service.pop("tmpfs", None) or []:
            path, _, options = target.partition(":")
            service.setdefault("volumes", []).append({"type": "tmpfs", "target": path, "tmpfs_options": options or None})
    keys = (set(orig) | set(mine)) - skip
    keys = {k for k in keys if not k.startswith("x-")}

    def differ(key, a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            # Only the entries that differ.
            changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            a = {k: a[k] for k in changed if k in a}
            b = {k: b[k] for k in changed if k in b}
        text = f"{key}: {json.dumps(a, sort_keys=True, ensure_ascii=False)} ≠ {json.dumps(b, sort_keys=True, ensure_ascii=False)}"
        diffs.append(text if len(text) <= 300 else text[:297] + "…")

    for key in sorted(keys):
        a, b = orig.get(key), mine.get(key)
        if key == "image":
            if "build" in orig or "build" in mine:
                continue
        elif key == "build":
            def build(x):
                if not x:
                    return None
                return {"context": norm_path(x.get("context", ".")), "dockerfile": x.get("dockerfile", "Dockerfile"),
                        "target": x.get("target"), "args": x.get("args") or {}}
            a, b = build(a), build(b)
        elif key == "ports":
            def ports(x):
                return sorted({(str(p.get("published", "")), int(p.get("target", 0)), p.get("protocol", "tcp")) for p in (x or [])})
            a, b = ports(a), ports(b)
            if kind and a == [] and all(t == (str(tg), tg, "tcp") for t in b for tg in [t[1]]):
                continue
        elif key == "volumes":
            def volumes(x):
                out = []
                for v in x or []:
                    entry = {"type": v.get("type"), "target": v.get("target"), "read_only": bool(v.get("read_only"))}
                    if v.get("type") == "bind":
                        entry["source"] = norm_path(v.get("source"), sight_folder)
                    out.append(entry)
                return sorted(out, key=lambda e: json.dumps(e, sort_keys=True))
            a, b = volumes(a), volumes(b)
            if kind:
                data = {"type": "volume", "target": STORE_DATA_DIRS[kind], "read_only": False}
                if data in b and data not in a:
                    b = [v for v in b if v != data]
        elif key == "healthcheck":
            if a is None or kind:
                continue

            def health(x):
                if x is None:
                    return None
                test = x.get("test")
                if isinstance(test, str):
                    test = ["CMD-SHELL", test]
                return {"test": test, "interval": duration_ms(x.get("interval", "30s")),
                        "timeout": duration_ms(x.get("timeout", "30s")), "retries": x.get("retries", 3),
                        "start_period": duration_ms(x.get("start_period", "0s"))}
            a, b = health(a), health(b)
        elif key == "depends_on":
            def deps(x, other):
                out = {}
                for target, d in (x or {}).items():
                    condition = d.get("condition")
                    if condition == "service_healthy":
                        condition = "service_started"
                    out[target] = {"condition": condition, "required": d.get("required", True), "restart": d.get("restart", False)}
                return out
            a, b = deps(a, b), deps(b, a)
        elif key == "environment":
            # A variable without a value is not set in the container (the environment is empty).
            a = {k: v for k, v in (a or {}).items() if v is not None}
            b = {k: v for k, v in (b or {}).items() if v is not None}
            if kind:
                for var in list(b):
                    if var.endswith("_FILE") and var[:-5] in a and var not in a:
                        secret = (b[var] or "").rsplit("/", 1)[-1]
                        if read_secret(sight_folder, sight_config, secret) == a[var[:-5]]:
                            a[var] = b[var]
                            del a[var[:-5]]
                for var, value in STORE_IMAGE_DEFAULTS.get(kind, lambda e: {})(a).items():
                    if var not in a and b.get(var) == value:
                        del b[var]
        elif key == "command" and kind and a is None and b == STORE_DEFAULT_COMMANDS.get(kind):
            continue
        elif key == "secrets":
            def secrets(x):
                return sorted({s.get("source") for s in (x or [])})
            a, b = secrets(a), secrets(b)
            if kind and len(b) == len(a) + 1:
                b = [s for s in b if s in a]
        elif key == "restart":
            a = None if a == "no" else a
            b = None if b == "no" else b
        elif key == "env_file":
            a = [norm_path(p.get("path") if isinstance(p, dict) else p) for p in (a or [])]
            b = [norm_path(p.get("path") if isinstance(p, dict) else p) for p in (b or [])]
        if a != b:
            differ(key, a, b)
    return diffs


def compare(orig, mine, sight_folder, stores):
    diffs = []
    o_services, m_services = orig.get("services", {}), mine.get("services", {})
    for name in sorted(set(o_services) | set(m_services)):
        if name not in m_services:
            diffs.append(f"{name}: missing in sight's file")
            continue
        if name not in o_services:
            diffs.append(f"{name}: only in sight's file")
            continue
        for d in compare_service(name, o_services[name], m_services[name], sight_folder, mine, name in stores):
            diffs.append(f"{name}.{d}")
    # Top-level secrets: where each comes from (a file or a shell variable).
    o_secrets, m_secrets = orig.get("secrets") or {}, mine.get("secrets") or {}
    for name in sorted(o_secrets):
        def source(x):
            return {"file": norm_path(x.get("file"), sight_folder) if x.get("file") else None, "environment": x.get("environment")}
        if name not in m_secrets:
            diffs.append(f"secrets.{name}: missing in sight's file")
        elif source(o_secrets[name]) != source(m_secrets[name]):
            diffs.append(f"secrets.{name}: {json.dumps(source(o_secrets[name]))} ≠ {json.dumps(source(m_secrets[name]))}")
    # Top-level volumes: the settings of each (a renamed store volume has the defaults).
    o_volumes, m_volumes = orig.get("volumes") or {}, mine.get("volumes") or {}
    for name in sorted(o_volumes):
        def settings(x, key):
            return {k: v for k, v in (x or {}).items() if not (k == "name" and v == f"x_{key}") and (k, v) not in [("driver", "local"), ("external", False)]}
        a = settings(o_volumes[name], name)
        b = settings(m_volumes.get(name), name) if name in m_volumes else {}
        if a != b:
            diffs.append(f"volumes.{name}: {json.dumps(a, sort_keys=True)} ≠ {json.dumps(b, sort_keys=True)}")
    for section in ("networks",):
        def settings(x):
            defaults = {("driver", "bridge"), ("external", False), ("ipam", None)}
            out = {}
            for k, v in (x or {}).items():
                out[k] = {kk: vv for kk, vv in (v or {}).items()
                          if not (kk == "name" and vv == f"x_{k}") and kk != "ipam" and (kk, vv) not in defaults}
            return out
        a, b = settings(orig.get(section)), settings(mine.get(section))
        if a != b:
            diffs.append(f"{section}: {json.dumps(a, sort_keys=True)} ≠ {json.dumps(b, sort_keys=True)}")
    return diffs


WARNING = re.compile(r"^(?P<file>[^:]*):(?P<line>\d+): warning: (?P<field>[^:]+): (?P<message>.*)$")


def gap_of(field, message):
    """A short name for the feature a warning is about (for the frequency table)."""
    parts = field.split(".")
    if "kept as a service" in message or "does not check" in message or "replaced by the" in message:
        return None
    if "is outside the project" in message:
        return "bind mount outside the project (S0015)"
    if parts[0] == "services" and len(parts) >= 3:
        key = parts[2]
        if key in ("depends_on", "environment") and "resolved" not in message:
            if key == "depends_on":
                return None if "healthy" in message or "job" in message else "depends_on." + parts[-1]
            return "environment from the shell (no value)"
        if "was resolved" in message or "`$PWD`" in message or "a variable without a value" in message:
            return "variable interpolation"
        if "only the first command" in message:
            return None
        if key in ("container_name", "expose", "attach", "develop") or key.startswith("x-"):
            return None
        if key in ("image",) and "built service" in message:
            return None
        if "plain-text password" in message:
            return None
        if key == "deploy" and len(parts) > 4:
            return ".".join(parts[2:5])
        sub = parts[3] if len(parts) > 3 and key in ("deploy", "build", "networks", "healthcheck") else None
        if key in ("networks", "ports", "volumes", "secrets") and len(parts) > 3:
            return f"{key}.{parts[-1]}"
        return f"{key}.{sub}" if sub else key
    if "was resolved" in message:
        return "variable interpolation"
    if parts[0] in ("version",) or parts[0].startswith("x-"):
        return None
    if parts[0] in ("volumes", "networks", "secrets") and len(parts) >= 3:
        return f"top-level {parts[0]}: {parts[2]}"
    if parts[0] in ("secrets",) and len(parts) == 2:
        return "secrets from the environment"
    return field


def project_report(folder, name, sight):
    files = sorted(f for f in os.listdir(folder) if f.startswith("compose") and f.endswith((".yaml", ".yml")))
    files.sort(key=lambda f: (".override." in f, f))
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, name)
        os.makedirs(work)
        for f in files:
            shutil.copy(os.path.join(folder, f), work)
        result = run([sight, "import", "compose", *files, "--name", name], work, clean_env())
        warnings = [m.groupdict() for m in map(WARNING.match, result.stderr.splitlines()) if m]
        services = 0
        entry = {"project": name, "warnings": warnings, "diffs": [], "error": None}
        if result.returncode != 0:
            entry["error"] = "import failed: " + (result.stderr.strip().splitlines() or [""])[-1]
            return entry
        build = run([sight, "build", "."], work, clean_env())
        if build.returncode != 0:
            entry["error"] = "build failed: " + " | ".join(l for l in build.stderr.splitlines() if "×" in l or "error" in l)[:300]
            return entry
        spec = "".join(open(os.path.join(work, f)).read() for f in os.listdir(work) if f.endswith(".sight"))
        stores = set(re.findall(r"^(?:database|cache|store) ([a-z0-9_-]+) :", spec, re.M))
        entry["stores"] = sorted(stores)
        # Without a profile, then with each profile alone (two profiles may exclude each other).
        services = set()
        for profile in [None] + compose_profiles(work, files):
            orig, error = compose_config(work, files, profile)
            if orig is None:
                entry["error"] = (f"the original does not pass `docker-compose config` in an empty environment "
                                  f"(its variables come from an `.env` the corpus does not have): {error}")
                return entry
            mine, error = compose_config(work, ["docker-compose.yml"], profile)
            if mine is None:
                entry["error"] = f"sight's file does not pass `docker-compose config`: {error}"
                return entry
            services |= set(orig.get("services", {}))
            for diff in compare(orig, mine, work, stores):
                if diff not in entry["diffs"]:
                    entry["diffs"].append(diff)
        entry["services"] = len(services)
        return entry


def alert_report(folder, sight):
    """Each alert policy: imported or not, and why (the import's warnings on conditions)."""
    rows = []
    for name in sorted(f for f in os.listdir(folder) if f.endswith((".json", ".yaml"))):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(folder, name), tmp)
            result = run([sight, "import", "alert", name, "--out", "out"], tmp, clean_env())
        warnings = [m.groupdict() for m in map(WARNING.match, result.stderr.splitlines()) if m]
        reasons = sorted({w["message"].split(" (")[0] for w in warnings if w["field"].startswith("conditions[")})
        rows.append({"file": name, "imported": result.returncode == 0, "reasons": reasons})
    return rows


def render_alerts(rows):
    lines = ["## Alert policies", ""]
    imported = sum(r["imported"] for r in rows)
    lines.append(f"`sight import alert` maps a threshold condition on the metric of a stdlib signal (Cloud Run")
    lines.append(f"services, Cloud SQL stores) to an `alert`. **{imported} of {len(rows)} corpus policies import**: the")
    lines.append("corpus watches other resources (Ops Agent workloads, GCE, GKE, PromQL, logs), which have no")
    lines.append("signal in the stdlib; adding one is a stdlib TOML file, no Rust.")
    lines.append("")
    lines.append("| policy | imported | why not |")
    lines.append("|---|---|---|")
    for r in rows:
        why = "; ".join(r["reasons"]).replace("|", "\\|")
        lines.append(f"| {r['file']} | {'yes' if r['imported'] else 'no'} | {why} |")
    lines.append("")
    lines.append("## Cloud Build files")
    lines.append("")
    lines.append("No `sight import cloudbuild`: a sight pipeline is a graph of step kinds that act on the")
    lines.append("project's services (`docker_build(api)`, `deploy(api)`), while the corpus's files (kept as")
    lines.append("references in `cloudbuild/SOURCE`) are free-form steps (`gcloud`, scripts, `waitFor` graphs)")
    lines.append("over images sight does not declare; mapping them would invent services. Not measured.")
    lines.append("")
    return lines


def render(entries, corpus_label, alert_rows=None):
    total = len(entries)
    equivalent = [e for e in entries if not e["error"] and not e["diffs"]]
    lines = []
    lines.append("# Corpus coverage: `sight import compose` round trips")
    lines.append("")
    lines.append("Generated by `python3 tools/coverage/corpus_coverage.py --write docs/corpus-coverage.md`")
    lines.append(f"over the {total} Compose projects of `{corpus_label}/compose` (see its `INDEX.md`). Do not edit by hand;")
    lines.append("CI regenerates it with `--check` when the corpus is present.")
    lines.append("")
    pct = 100 * len(equivalent) // total if total else 0
    lines.append(f"**{len(equivalent)} of {total} projects ({pct}%) round-trip to an equivalent Compose file.**")
    lines.append("")
    lines.append("Each project is imported (`sight import compose compose.yaml [compose.override.yaml]`), built")
    lines.append("(`sight build`), and sight's `docker-compose.yml` is compared with the original, both")
    lines.append("normalized by `docker-compose config` (below). *Not imported* lists what the import reported")
    lines.append("as not expressible in sight (each a warning with its file and line); *differs* lists the")
    lines.append("fields whose normalized values differ.")
    lines.append("")
    lines.append("| project | services | result | differs | not imported |")
    lines.append("|---|---:|---|---|---|")
    gap_projects = collections.defaultdict(set)
    for e in entries:
        gaps = collections.Counter()
        for w in e["warnings"]:
            gap = gap_of(w["field"], w["message"])
            if gap:
                gaps[gap] += 1
                gap_projects[gap].add(e["project"])
        if e["error"]:
            result, differs = "not compared", e["error"].replace("|", "\\|")
        elif e["diffs"]:
            result = "differs"
            differs = "<br>".join(d.replace("|", "\\|") for d in e["diffs"][:8])
            if len(e["diffs"]) > 8:
                differs += f"<br>… and {len(e['diffs']) - 8} more"
        else:
            result, differs = "**equivalent**", ""
        not_imported = ", ".join(f"`{g}`" + (f" ×{n}" if n > 1 else "") for g, n in sorted(gaps.items()))
        lines.append(f"| {e['project']} | {e.get('services', '')} | {result} | {differs} | {not_imported} |")
    lines.append("")
    failing = [e for e in entries if e["error"] or e["diffs"]]
    if failing:
        def why(e):
            if e["error"]:
                return "not comparable: " + e["error"].split(":")[0]
            fields = ", ".join(sorted({d.split(":")[0].split(".", 1)[-1] for d in e["diffs"]}))
            outside = any("is outside the project" in w["message"] for w in e["warnings"])
            return fields + (": bind mounts of host paths outside the project, which S0015 rejects" if outside else "")
        lines.append("Not equivalent: " + "; ".join(f"**{e['project']}** ({why(e)})" for e in failing) + ".")
        lines.append("")
    lines.append("## Most frequent gaps")
    lines.append("")
    lines.append("Features the import could not express, by the number of projects that use them (from the")
    lines.append("import's warnings; a project can be equivalent and still lose a feature that")
    lines.append("`docker-compose config` does not show, such as a variable that now is a value).")
    lines.append("")
    lines.append("| feature | projects | which |")
    lines.append("|---|---:|---|")
    for gap, projects in sorted(gap_projects.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"| `{gap}` | {len(projects)} | {', '.join(sorted(projects))} |")
    lines.append("")
    lines.append("The two most frequent gaps are by design: sight writes values, not `${VAR}` variables of")
    lines.append("the shell (the import resolves each as `docker compose config` would and reports it), and")
    lines.append("a variable listed without a value takes the shell's at `up` (reported, not written).")
    lines.append("")
    lines.append("## Language features added for the corpus")
    lines.append("")
    lines.append("The gaps of the first import were turned into language features (docs/language.md):")
    lines.append("`build : dockerfile { context dockerfile target args }` (a Dockerfile of the project's own),")
    lines.append("`health = command([…])` / `shell(\"…\")`, and the container settings `ports`, `volumes`,")
    lines.append("`tmpfs`, `networks`, `aliases`, `restart`, `entrypoint`, `user`, `secrets`, `profiles`,")
    lines.append("`env_file`, `labels`, `limits { cpus memory }`, `job` (dependents wait for completion), `tty`,")
    lines.append("`stdin_open`, `read_only`, `ulimits`, `security_opt`, `gpus` (on services and stores), the")
    lines.append("declarations `network <name> { driver name external internal }` and `volume <name> { driver")
    lines.append("driver_opts name external }`, and secrets read from a shell variable (`env = \"VAR\"`).")
    lines.append("")
    if alert_rows is not None:
        lines.extend(render_alerts(alert_rows))
    lines.append("## Normalization")
    lines.append("")
    lines.append(NORMALIZATION.rstrip())
    lines.append("")
    return "\n".join(lines), len(equivalent), total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", default=os.path.join(ROOT, "..", "shared", "corpus"))
    parser.add_argument("--sight", default=os.path.join(ROOT, "target", "debug", "sight"))
    parser.add_argument("--write", metavar="FILE")
    parser.add_argument("--check", metavar="FILE")
    parser.add_argument("--min-equivalent", type=int, default=80)
    parser.add_argument("--only", help="one project (for debugging); prints its differences")
    args = parser.parse_args()
    compose_dir = os.path.join(args.corpus, "compose")
    if not os.path.isdir(compose_dir):
        print(f"corpus coverage: skipped (no corpus at {os.path.normpath(args.corpus)})")
        return 0
    if shutil.which("docker-compose") is None:
        print("corpus coverage: docker-compose is not on PATH (install tools/validate/requirements.txt)", file=sys.stderr)
        return 2
    if not os.path.exists(args.sight):
        print(f"corpus coverage: no sight binary at {args.sight} (run `cargo build`)", file=sys.stderr)
        return 2
    projects = sorted(d for d in os.listdir(compose_dir) if os.path.isdir(os.path.join(compose_dir, d)))
    if args.only:
        projects = [args.only]
    entries = [project_report(os.path.join(compose_dir, p), p, os.path.abspath(args.sight)) for p in projects]
    if args.only:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0
    alerts_dir = os.path.join(args.corpus, "alerts")
    alert_rows = alert_report(alerts_dir, os.path.abspath(args.sight)) if os.path.isdir(alerts_dir) else None
    text, equivalent, total = render(entries, "shared/corpus", alert_rows)
    if args.write:
        with open(args.write, "w") as f:
            f.write(text)
    if args.check:
        committed = open(args.check).read() if os.path.exists(args.check) else ""
        if committed != text:
            print(f"corpus coverage: {args.check} is out of date; run with --write {args.check}", file=sys.stderr)
            return 1
    if not args.write and not args.check:
        print(text)
    share = 100 * equivalent / total if total else 100
    print(f"corpus coverage: {equivalent} of {total} projects equivalent ({share:.0f}%)", file=sys.stderr)
    if share < args.min_equivalent:
        print(f"corpus coverage: below the required {args.min_equivalent}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
