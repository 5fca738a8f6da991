"""End-to-end checks against a running Airflow deployment (started by scripts/e2e.sh).

Everything goes through Airflow's REST API, as a user's CI would, and through the
emulators' control endpoints: every example DAG succeeds with one submission per video;
deferred tasks really went through the triggerer without blocking its loop; a worker
killed mid-wait is retried and reattaches; marking a deferred task failed cancels a
PENDING Bailian task and leaves a RUNNING one alone; a triggerer restart resubmits and
cancels nothing; a video downloaded to ``s3://`` (a local S3 server) arrives whole; a
triggerer that stalls past its heartbeat (SIGSTOP) while it holds queued
videos hands them to a second triggerer and, resumed, cancels none of them; the token
appears in no log, XCom or rendered field. The checks of what does not depend on the executor
(the triggerer's restart, stall and mark-failed, the gallery, the approvals, the UI) run in
the LocalExecutor run only; the CeleryExecutor run checks what its workers do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

EXAMPLES = [
    "bailian_text2video",
    "bailian_wait_deferrable",
    "bailian_submit_then_sensor",
    "bailian_mapped_prompts",
    "bailian_generate_and_download",
]
E2E_DAGS = [
    "bailian_publish_video",
    "bailian_e2e_worker_wait",
    "bailian_e2e_deferred",
    "bailian_e2e_mark_failed_pending",
    "bailian_e2e_mark_failed_running",
    "bailian_e2e_failover",
    "bailian_e2e_mark_failed_worker",
    "bailian_e2e_s3",
]
WORKER_STOP_DAG = "bailian_e2e_mark_failed_worker"
WORKER_STOP_PROMPT = "e2e: a worker wait whose user gives up"
FAILOVER_DAG = "bailian_e2e_failover"
FAILOVER_PROMPTS = [f"e2e: failover video {i}" for i in range(3)]
PLAN_DAGS = ["bailian_e2e_plan_approve", "bailian_e2e_plan_reject"]
PLAN_TIMEOUT_DAG = "bailian_e2e_plan_timeout"  # approval_timeout=5 s
PLAN_SUBJECT = "Spend 17.80 CNY on 3 Bailian videos?"
TERMINAL = {"success", "failed"}


class Check:
    """Counts and prints the outcome of every assertion."""

    failures: list[str] = []
    started = time.monotonic()

    @classmethod
    def that(cls, ok: bool, what: str) -> bool:
        # The seconds since the checks began: where a slow run spends its time.
        elapsed = f"[{time.monotonic() - cls.started:5.0f} s] "
        print(elapsed + ("OK:   " if ok else "FAIL: ") + what, flush=True)
        if not ok:
            cls.failures.append(what)
        return ok


class Airflow:
    """A thin REST client for the Airflow 3 public API."""

    def __init__(self, base: str, password: str) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.password = password

    def login(self, deadline: float) -> None:
        while True:
            try:
                resp = self.session.post(
                    f"{self.base}/auth/token",
                    json={"username": "admin", "password": self.password},
                    timeout=10,
                )
                if resp.status_code in (200, 201):
                    token = resp.json()["access_token"]
                    self.session.headers["Authorization"] = f"Bearer {token}"
                    return
            except requests.RequestException:
                pass
            if time.time() > deadline:
                raise SystemExit("the api-server did not accept the login in time")
            time.sleep(1)

    def get(self, path: str, **params: Any) -> Any:
        resp = self.session.get(f"{self.base}/api/v2{path}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        resp = self.session.request(method, f"{self.base}/api/v2{path}", json=body, timeout=30)
        if resp.status_code >= 400:
            raise SystemExit(f"{method} {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp.json()

    def wait_for_dags(self, dag_ids: list[str], deadline: float) -> None:
        missing = set(dag_ids)
        while missing and time.time() < deadline:
            found = {d["dag_id"] for d in self.get("/dags", limit=100)["dags"]}
            missing -= found
            if missing:
                time.sleep(2)
        if not Check.that(
            not missing, f"the dag-processor parsed every DAG ({sorted(missing)} missing)"
        ):
            raise SystemExit(1)
        for dag_id in dag_ids:
            self.send("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self.send(
            "POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}
        )
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)[
            "task_instances"
        ]

    def wait_run(self, dag_id: str, run_id: str, deadline: float, seen: dict | None = None) -> str:
        state = "queued"
        while time.time() < deadline:
            state = self.run_state(dag_id, run_id)
            if seen is not None:
                for ti in self.task_instances(dag_id, run_id):
                    seen.setdefault((dag_id, run_id, ti["task_id"]), set()).add(ti["state"])
            if state in TERMINAL:
                return state
            time.sleep(1)
        return state

    def wait_ti_state(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], deadline: float
    ) -> dict[str, Any] | None:
        while time.time() < deadline:
            for ti in self.task_instances(dag_id, run_id):
                if ti["task_id"] == task_id and ti["state"] in states:
                    return ti
            time.sleep(0.5)
        return None

    def xcoms(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        entries = []
        for ti in self.task_instances(dag_id, run_id):
            listing = self.get(
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/xcomEntries",
                map_index=ti["map_index"],
            )
            for entry in listing["xcom_entries"]:
                value = self.get(
                    f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
                    f"/xcomEntries/{entry['key']}",
                    map_index=ti["map_index"],
                )
                entries.append(value)
        return entries


def emulator_requests(url: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/_emulator/requests", timeout=10).json()


def submissions_by_prompt(url: str) -> Counter:
    return Counter(
        r["body"]["input"]["prompt"]
        for r in emulator_requests(url)
        if r["route"] == "submit" and isinstance(r.get("body"), dict)
    )


def read_log(work: Path, name: str) -> str:
    path = work / "logs" / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def trigger_logs(work: Path, dag_id: str = "") -> str:
    """What triggers logged: Airflow writes it beside the task's log (``*.log.trigger.*``)."""
    base = work / "home" / "logs"
    pattern = f"dag_id={dag_id}*/**/*.log.trigger.*" if dag_id else "**/*.log.trigger.*"
    return "\n".join(p.read_text(errors="replace") for p in base.glob(pattern) if p.is_file())


def triggerer_said(work: Path) -> str:
    """What triggers logged, in their own files or, for an on_kill that outlived its trigger
    (Airflow stops waiting for it once it cancels the trigger again), the triggerers' logs."""
    return trigger_logs(work) + "".join(
        read_log(work, name) for name in ("triggerer", "triggerer-2", "triggerer-b")
    )


def restart_triggerer(work: Path, airflow: str) -> None:
    pid = int((work / "triggerer.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    for _ in range(60):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    log = open(work / "logs" / "triggerer-2.log", "w")  # noqa: SIM115 (lives with the process)
    # Its own process group, like the components e2e.sh starts; e2e.sh stops it by this pid.
    proc = subprocess.Popen(
        [airflow, "triggerer"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    (work / "triggerer.pid").write_text(str(proc.pid))


def start_triggerer(work: Path, airflow: str, name: str) -> int:
    """Another triggerer, in its own process group; e2e.sh stops it by its pid file."""
    log = open(work / "logs" / f"{name}.log", "w")  # noqa: SIM115 (lives with the process)
    proc = subprocess.Popen(
        [airflow, "triggerer"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    (work / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Airflow's supervisor puts its child in a group of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def signal_tree(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def trigger_logs_by_job(work: Path, dag_id: str) -> dict[str, dict[str, str]]:
    """Triggerer job id -> {task log path: text}: each triggerer writes its own file per TI."""
    found: dict[str, dict[str, str]] = {}
    for path in (work / "home" / "logs").glob(f"dag_id={dag_id}*/**/*.log.trigger.*"):
        match = re.search(r"\.trigger\.([^.]+)\.log$", path.name)
        if match and path.is_file():
            key = str(path.parent / path.name[: match.start()])
            found.setdefault(match.group(1), {})[key] = path.read_text(errors="replace")
    return found


def _log_time(line: str) -> float | None:
    """The epoch seconds of a log line's leading ISO timestamp, or None."""
    try:
        stamp = line.split(" ", 1)[0].rstrip("Z")
        return datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def check_triggerer_failover(af: Airflow, args: argparse.Namespace) -> None:
    """Two triggerers; the one holding 3 queued videos stalls past its heartbeat and comes back.

    Its triggers move to the other triggerer, and Airflow runs the stalled one's on_kill for
    each: the task instances are still deferred, so nothing may be cancelled, and every
    video is submitted once and succeeds in its first try.
    """
    emu = args.emulator_queue
    began = time.time()
    blocker = requests.post(
        f"{emu}/api/v1/services/aigc/video-generation/video-synthesis",
        headers={"Authorization": f"Bearer {args.token}", "X-DashScope-Async": "enable"},
        json={
            "model": "wan2.6-t2v",
            "input": {"prompt": "another application's video, holding the only slot"},
            "parameters": {"size": "1280*720", "duration": 5},
        },
        timeout=10,
    )
    Check.that(blocker.ok, f"the account's only slot is taken ({blocker.status_code})")
    # The queued videos take 3 s once they get a slot; the blocker keeps it until then.
    requests.post(f"{emu}/_emulator/config", json={"task_seconds": 3}, timeout=10)
    run_id = af.trigger(FAILOVER_DAG)
    started = time.time()
    holder = None
    while time.time() < started + 120:
        logs = trigger_logs_by_job(args.work, FAILOVER_DAG)
        waiting = {
            job: [t for t in files.values() if "Waiting for Bailian task" in t]
            for job, files in logs.items()
        }
        holder = next((job for job, w in waiting.items() if len(w) == 3), None)
        if holder:
            break
        time.sleep(0.5)
    if not Check.that(holder is not None, "the 3 mapped videos wait in one triggerer"):
        return
    tasks = requests.get(f"{emu}/_emulator/tasks", timeout=10).json()
    listed = tasks.values() if isinstance(tasks, dict) else tasks
    pending = [t for t in listed if t["status"] == "PENDING"]
    Check.that(len(pending) == 3, f"the 3 videos are queued PENDING ({len(pending)} PENDING)")
    stalled = int((args.work / "triggerer.pid").read_text())
    start_triggerer(args.work, args.airflow, "triggerer-b")
    deadline = time.time() + 120
    alive = 0
    while time.time() < deadline:
        jobs = af.get("/jobs", job_type="TriggererJob", is_alive=True, limit=20)["jobs"]
        alive = len(jobs)
        if alive >= 2:
            break
        time.sleep(0.5)
    if not Check.that(alive >= 2, f"a second triggerer is up ({alive} alive)"):
        return
    # The whole triggerer stalls (a GC pause, a starved CPU): the supervisor and its runner.
    frozen = process_tree(stalled)
    signal_tree(frozen, signal.SIGSTOP)
    stopped = time.time()
    taker = None
    try:
        while time.time() < stopped + 90:
            logs = trigger_logs_by_job(args.work, FAILOVER_DAG)
            taker = next(
                (
                    job
                    for job, files in logs.items()
                    if job != holder
                    and sum("Waiting for Bailian task" in t for t in files.values()) == 3
                ),
                None,
            )
            if taker:
                break
            time.sleep(0.5)
        moved = time.time() - stopped
    finally:
        signal_tree(frozen, signal.SIGCONT)
    print(
        f"the stalled triggerer ({len(frozen)} processes) lost its triggers in {moved:.1f} s",
        flush=True,
    )
    Check.that(taker is not None, "the other triggerer took the 3 waits over")
    # Resumed, the stalled triggerer finds its triggers gone and runs their on_kill.
    ids = {t["task_id"] for t in pending}
    kept: dict[str, str] = {}
    deadline = time.time() + 60
    while time.time() < deadline:
        said = "".join(trigger_logs_by_job(args.work, FAILOVER_DAG).get(holder, {}).values())
        said += read_log(args.work, "triggerer-2")  # the stalled one (restarted in step 4)
        for match in re.finditer(r"Not cancelling Bailian task (\S+): ([^\n\"]+)", said):
            if match.group(1) in ids:
                kept[match.group(1)] = match.group(2)
        if len(kept) == 3:
            break
        time.sleep(0.5)
    Check.that(
        len(kept) == 3,
        f"the resumed triggerer's on_kill left the 3 videos alone and said why ({len(kept)} did)",
    )
    deferred = sum("the task instance is still deferred" in why for why in kept.values())
    print(f"{deferred} of them read that the task instance is still deferred", flush=True)
    requests.post(f"{emu}/_emulator/config", json={"max_concurrent": 5}, timeout=10)
    state = af.wait_run(FAILOVER_DAG, run_id, time.time() + 120)
    Check.that(state == "success", f"the failover run ends {state}")
    tis = af.task_instances(FAILOVER_DAG, run_id)
    Check.that(
        len(tis) == 3 and all(ti["state"] == "success" and ti["try_number"] == 1 for ti in tis),
        "every video succeeded in its first try "
        f"({[(ti['map_index'], ti['state'], ti['try_number']) for ti in tis]})",
    )
    sent = {p: n for p, n in submissions_by_prompt(emu).items() if p in FAILOVER_PROMPTS}
    Check.that(
        sorted(sent) == sorted(FAILOVER_PROMPTS) and set(sent.values()) == {1},
        f"3 submissions in all ({sent})",
    )
    cancels = [r for r in emulator_requests(emu) if r["route"] == "cancel"]
    Check.that(not cancels, f"0 cancel requests ({len(cancels)})")
    print(f"the failover check took {time.time() - began:.0f} s", flush=True)


def check_worker_mark_failed(af: Airflow, args: argparse.Namespace, run_id: str) -> None:
    """Mark a wait in the worker failed: Airflow kills the task process, and its on_kill
    cancels the PENDING task once it has read that the task instance is failed."""
    ti = af.wait_ti_state(WORKER_STOP_DAG, run_id, "generate", {"running"}, time.time() + 120)
    deadline = time.time() + 60
    while time.time() < deadline and not submissions_by_prompt(args.emulator_pending).get(
        WORKER_STOP_PROMPT
    ):
        time.sleep(0.5)
    if not Check.that(ti is not None, f"{WORKER_STOP_DAG}: the task waits in a worker"):
        return
    time.sleep(2)  # past the submission, into the wait
    af.send(
        "PATCH",
        f"/dags/{WORKER_STOP_DAG}/dagRuns/{run_id}/taskInstances/generate",
        {"new_state": "failed"},
    )
    status = None
    deadline = time.time() + 60
    while time.time() < deadline:
        tasks = requests.get(f"{args.emulator_pending}/_emulator/tasks", timeout=10).json()
        listed = tasks.values() if isinstance(tasks, dict) else tasks
        mine = [t for t in listed if t.get("prompt") == WORKER_STOP_PROMPT]
        status = mine[0]["status"] if mine else None
        if status == "CANCELED":
            break
        time.sleep(1)
    Check.that(
        status == "CANCELED", f"marking a worker's PENDING wait failed cancelled it ({status})"
    )
    logs = args.work / "home" / "logs"
    said = "".join(
        p.read_text(errors="replace") for p in logs.glob(f"dag_id={WORKER_STOP_DAG}/**/*.log")
    )
    Check.that(
        "the task instance is now failed: it was stopped" in said,
        "the worker's on_kill read from Airflow that a person marked the task failed",
    )


def kill_worker_of(ti: dict[str, Any]) -> int:
    """SIGKILL the process that runs the task (its pid, as Airflow records it)."""
    pid = ti.get("pid")
    if not pid:
        raise SystemExit(f"no pid recorded for {ti['task_id']}")
    os.kill(int(pid), signal.SIGKILL)
    return int(pid)


MAPPED_PROMPTS = [
    "A red fox trots across fresh snow, morning light.",
    "Waves crash on black volcanic sand, slow motion.",
    "A tram passes through a neon-lit street at night.",
]


def check_gallery_api(af: Airflow, runs: dict[str, str], token: str) -> None:
    """The gallery's API over HTTP: anonymous refused, the mapped run's videos with prompts
    and costs, the downloaded copy served by the api-server, no token anywhere."""
    url = f"{af.base}/bailian/api/videos"
    anonymous = requests.get(url, timeout=30)
    Check.that(
        anonymous.status_code in (401, 403),
        f"anonymous GET /bailian/api/videos is refused ({anonymous.status_code})",
    )
    for path in ("/bailian/api/filters", "/bailian/api/videos/file?dag_id=x&run_id=y&task_id=z"):
        code = requests.get(f"{af.base}{path}", timeout=30).status_code
        Check.that(code in (401, 403), f"anonymous GET {path.split('?')[0]} is refused ({code})")
    run_id = runs["bailian_mapped_prompts"]
    resp = af.session.get(
        url, params={"dag_id": "bailian_mapped_prompts", "run_id": run_id}, timeout=30
    )
    videos = resp.json() if resp.status_code == 200 else []
    Check.that(
        sorted(v["prompt"] for v in videos) == sorted(MAPPED_PROMPTS),
        f"the gallery lists the mapped run's 3 videos with their prompts ({len(videos)} found)",
    )
    Check.that(
        bool(videos) and all(v["cost"] and v["cost"]["amount"] > 0 for v in videos),
        "each video of the mapped run has its cost",
    )
    Check.that(resp.headers.get("X-Total-Count") == "3", "X-Total-Count says 3 for the mapped run")
    kept = af.session.get(url, params={"dag_id": "bailian_generate_and_download"}, timeout=30)
    stored = [v for v in kept.json() if v["play"]["kind"] == "stored"] if kept.ok else []
    if Check.that(bool(stored), "the downloaded video is played from the api-server's copy"):
        video = af.session.get(f"{af.base}/bailian/{stored[0]['play']['url']}", timeout=30)
        Check.that(
            video.status_code == 200 and video.content[4:8] == b"ftyp",
            f"the stored copy streams as MP4 ({video.status_code}, {len(video.content)} bytes)",
        )
    everything = af.session.get(url, params={"limit": 200}, timeout=30).text
    Check.that(token not in everything, "the token is in no gallery response")


def check_s3_download(af: Airflow, args: argparse.Namespace, run_id: str) -> None:
    """The video of ``bailian_e2e_s3`` is one whole object in the bucket, at its XCom path."""
    from importlib.resources import files

    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=args.s3,
        aws_access_key_id="fake-e2e-access-key",
        aws_secret_access_key="fake-e2e-secret-key",
        region_name="us-east-1",
    )
    sample = (files("airflow_provider_bailian.emulator") / "sample.mp4").read_bytes()
    key = "videos/bailian_e2e_s3.mp4"
    listing = client.list_objects_v2(Bucket="bailian-e2e").get("Contents", [])
    Check.that(
        [o["Key"] for o in listing] == [key],
        f"bailian_e2e_s3 left one object in the bucket ({[o['Key'] for o in listing]})",
    )
    body = client.get_object(Bucket="bailian-e2e", Key=key)["Body"].read() if listing else b""
    Check.that(
        body == sample, f"the S3 object is the whole video ({len(body)} of {len(sample)} bytes)"
    )
    uploads = client.list_multipart_uploads(Bucket="bailian-e2e").get("Uploads", [])
    Check.that(not uploads, f"no multipart upload is left open ({len(uploads)})")
    path = af.get(
        f"/dags/bailian_e2e_s3/dagRuns/{run_id}/taskInstances/generate/xcomEntries/video_path"
    )["value"]
    Check.that(
        path == f"s3://aws_e2e@bailian-e2e/{key}", f"the video_path XCom names the object ({path})"
    )


def browser_command(args: argparse.Namespace, *mode: str) -> list[str]:
    """scripts/e2e_browser.py (in one of its modes), logged in as the deployment's admin."""
    script = str(Path(__file__).with_name("e2e_browser.py"))
    login = ["--base-url", args.api, "--username", "admin", "--password", args.password]
    return [sys.executable, script, *mode, *login]


def trigger_plan_approvals(af: Airflow) -> dict[str, str]:
    """Start the planned batches that wait for a person (approved, rejected, timed out)."""
    af.wait_for_dags([*PLAN_DAGS, PLAN_TIMEOUT_DAG], time.time() + 180)
    return {dag_id: af.trigger(dag_id) for dag_id in [*PLAN_DAGS, PLAN_TIMEOUT_DAG]}


def check_plan_approvals(af: Airflow, args: argparse.Namespace, plan_runs: dict[str, str]) -> None:
    """Approved in the browser: runs once per item. Rejected or timed out: skipped, 0 sent."""
    deadline = time.time() + 180
    for dag_id in PLAN_DAGS:
        run_id = plan_runs[dag_id]
        ti = af.wait_ti_state(dag_id, run_id, "plan", {"awaiting_input", "deferred"}, deadline)
        Check.that(ti is not None, f"{dag_id}: the plan waits for a person's decision")
    approve_run, reject_run = plan_runs[PLAN_DAGS[0]], plan_runs[PLAN_DAGS[1]]
    hitl = f"/dags/{PLAN_DAGS[0]}/dagRuns/{approve_run}/taskInstances/plan/-1/hitlDetails"
    detail = af.get(hitl)
    Check.that(
        detail.get("subject") == PLAN_SUBJECT and "| wan2.6-t2v |" in (detail.get("body") or ""),
        f"the approval request holds the total and the plan table ({detail.get('subject')!r})",
    )
    Check.that(detail.get("defaults") == ["Reject"], "a timeout answers Reject")
    before = submissions_by_prompt(args.emulator)
    Check.that(
        not any(p.startswith("bailian_e2e_plan_") for p in before),
        "nothing was submitted while the batches wait for approval",
    )
    browser = subprocess.run(
        [
            *browser_command(args, "approval"),
            "--dag-id",
            PLAN_DAGS[0],
            "--run-id",
            approve_run,
            "--task-id",
            "plan",
            "--subject",
            PLAN_SUBJECT,
            "--screenshots",
            args.browser_out,
        ],
        timeout=240,
    )
    Check.that(browser.returncode == 0, "the plan's log and approval checks passed in Chromium")
    if not af.get(hitl).get("responded_at"):  # keep checking the rest if the click failed
        af.send("PATCH", hitl, {"chosen_options": ["Approve"]})
    af.send(
        "PATCH",
        f"/dags/{PLAN_DAGS[1]}/dagRuns/{reject_run}/taskInstances/plan/-1/hitlDetails",
        {"chosen_options": ["Reject"]},
    )
    deadline = time.time() + 240
    for dag_id, run_id in plan_runs.items():  # the scheduler answers the timeout with Reject
        state = af.wait_run(dag_id, run_id, deadline)
        Check.that(state == "success", f"{dag_id} run ends {state}")
    states = {
        (ti["task_id"], ti["map_index"]): ti["state"]
        for ti in af.task_instances(PLAN_DAGS[0], approve_run)
    }
    Check.that(
        states.get(("plan", -1)) == "success"
        and [states.get(("generate", i)) for i in range(3)] == ["success"] * 3,
        f"approved: the plan and its 3 videos succeeded ({states})",
    )
    for label, dag_id in (("rejected", PLAN_DAGS[1]), ("timed out", PLAN_TIMEOUT_DAG)):
        states = {ti["task_id"]: ti["state"] for ti in af.task_instances(dag_id, plan_runs[dag_id])}
        Check.that(set(states.values()) == {"skipped"}, f"{label}: the batch is skipped ({states})")
    counts = submissions_by_prompt(args.emulator)
    approved = {p: n for p, n in counts.items() if p.startswith(PLAN_DAGS[0])}
    Check.that(
        len(approved) == 3 and set(approved.values()) == {1},
        f"approved: one submission per planned item ({approved})",
    )
    for label, dag_id in (("rejected", PLAN_DAGS[1]), ("timed out", PLAN_TIMEOUT_DAG)):
        sent = {p: n for p, n in counts.items() if p.startswith(dag_id)}
        Check.that(not sent, f"{label}: 0 submissions ({sent})")


def main() -> int:
    p = argparse.ArgumentParser()
    for name in (
        "api",
        "password",
        "token",
        "emulator",
        "emulator-pending",
        "emulator-running",
        "emulator-queue",
        "emulator-slow",
        "s3",
    ):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--executor", default="local")
    p.add_argument("--airflow", required=True)
    p.add_argument("--browser-out", required=True)
    args = p.parse_args()
    started = time.time()
    af = Airflow(args.api, args.password)
    af.login(started + 120)
    af.wait_for_dags(EXAMPLES + E2E_DAGS, started + 180)
    print(f"deployment ready in {time.time() - started:.0f} s", flush=True)

    # What does not depend on the executor (the triggerer, the api-server and the UI) is
    # checked once, in the LocalExecutor run; the Celery run checks what the workers do.
    full = args.executor == "local"
    if not full:
        print("triggerer, gallery, approval and UI checks: in the LocalExecutor run", flush=True)

    # 1. Every example DAG, and the long waits for the kill and restart scenarios.
    runs = {dag_id: af.trigger(dag_id) for dag_id in EXAMPLES}
    worker_run = af.trigger("bailian_e2e_worker_wait")
    deferred_runs = (
        [af.trigger("bailian_e2e_deferred", {"prompt": f"restart {i}"}) for i in (1, 2)]
        if full
        else []
    )
    pending_run = af.trigger("bailian_e2e_mark_failed_pending") if full else ""
    worker_stop_run = af.trigger(WORKER_STOP_DAG)
    running_run = af.trigger("bailian_e2e_mark_failed_running") if full else ""
    s3_run = af.trigger("bailian_e2e_s3")

    # 2. A worker killed with SIGKILL while it waits.
    deadline = time.time() + 180
    ti = af.wait_ti_state("bailian_e2e_worker_wait", worker_run, "generate", {"running"}, deadline)
    while (
        ti
        and time.time() < deadline
        and not submissions_by_prompt(args.emulator).get("e2e: a worker that dies while it waits")
    ):
        time.sleep(0.5)
    if Check.that(ti is not None, "the non-deferrable wait is running in a worker"):
        time.sleep(2)
        ti = af.wait_ti_state(
            "bailian_e2e_worker_wait", worker_run, "generate", {"running"}, deadline
        )
        killed = kill_worker_of(ti) if ti else None
        print(f"killed worker process {killed} with SIGKILL", flush=True)

    # 3. Mark deferred tasks failed: PENDING gets cancelled, RUNNING is left alone.
    if full:
        for name, run_id in (("pending", pending_run), ("running", running_run)):
            dag_id = f"bailian_e2e_mark_failed_{name}"
            ti = af.wait_ti_state(dag_id, run_id, "generate", {"deferred"}, time.time() + 120)
            # A trigger the triggerer has not started yet has no on_kill to run: wait for its start.
            trigger_started_by = time.time() + 60
            while "Waiting for Bailian task" not in trigger_logs(args.work, dag_id):
                if time.time() > trigger_started_by:
                    break
                time.sleep(0.5)
            if Check.that(ti is not None, f"{dag_id}: the task deferred"):
                af.send(
                    "PATCH",
                    f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/generate",
                    {"new_state": "failed"},
                )
        # The triggerer runs each on_kill on its next pass: give a loaded machine up to 40 s.
        time.sleep(8)
        deadline = time.time() + 32
        while time.time() < deadline:
            cancels = [
                r for r in emulator_requests(args.emulator_pending) if r["route"] == "cancel"
            ]
            if cancels and "is RUNNING: not cancelled" in triggerer_said(args.work):
                break
            time.sleep(1)
        Check.that(
            len(cancels) == 1, f"marking a PENDING wait failed cancelled it ({len(cancels)} cancel)"
        )
        tasks = requests.get(f"{args.emulator_pending}/_emulator/tasks", timeout=10).json()
        statuses = [
            t["status"]
            for t in (tasks.values() if isinstance(tasks, dict) else tasks)
            if t.get("prompt") != WORKER_STOP_PROMPT  # the worker's wait, stopped below
        ]
        Check.that(statuses == ["CANCELED"], f"the PENDING Bailian task is CANCELED ({statuses})")
        running_cancels = [
            r for r in emulator_requests(args.emulator_running) if r["route"] == "cancel"
        ]
        Check.that(not running_cancels, "marking a RUNNING wait failed cancelled nothing")
        triggerer_log = triggerer_said(args.work)
        Check.that(
            "was PENDING and has been cancelled" in triggerer_log,
            "the triggerer log says the PENDING task was cancelled",
        )
        Check.that(
            "is RUNNING: not cancelled" in triggerer_log,
            "the triggerer log says the RUNNING task was left alone",
        )
        Check.that(
            "the task instance is now failed: it was stopped" in triggerer_log,
            "on_kill read from Airflow that a person marked the task failed before cancelling",
        )

    # The same stop for a wait in the worker (after the counts above, on the same emulator).
    check_worker_mark_failed(af, args, worker_stop_run)

    # 4. Restart the triggerer while waits are deferred.
    plan_runs: dict[str, str] = {}
    if full:
        for run_id in deferred_runs:
            ti = af.wait_ti_state(
                "bailian_e2e_deferred", run_id, "generate", {"deferred"}, time.time() + 60
            )
            Check.that(ti is not None, "a wait is deferred when the triggerer restarts")
        restart_triggerer(args.work, args.airflow)
        print("restarted the triggerer while 2 waits were deferred", flush=True)
        plan_runs = trigger_plan_approvals(af)  # after the timing-sensitive steps above

    # 5. Everything finishes.
    seen: dict = {}
    deadline = time.time() + 360
    for dag_id, run_id in runs.items():
        state = af.wait_run(dag_id, run_id, deadline, seen)
        Check.that(state == "success", f"{dag_id} run {run_id}: {state}")
    for run_id in deferred_runs:
        state = af.wait_run("bailian_e2e_deferred", run_id, deadline)
        Check.that(state == "success", f"deferred wait survived a triggerer restart: {state}")
    state = af.wait_run("bailian_e2e_worker_wait", worker_run, deadline)
    Check.that(state == "success", f"the killed worker's task was retried and succeeded: {state}")
    worker_ti = af.task_instances("bailian_e2e_worker_wait", worker_run)[0]
    Check.that(worker_ti["try_number"] >= 2, f"it took a retry (try {worker_ti['try_number']})")
    state = af.wait_run("bailian_e2e_s3", s3_run, deadline)
    if Check.that(state == "success", f"the video downloaded to s3:// ({state})"):
        check_s3_download(af, args, s3_run)
    for name, run_id in (("pending", pending_run), ("running", running_run)):
        if run_id:
            state = af.run_state(f"bailian_e2e_mark_failed_{name}", run_id)
            Check.that(state in ("failed", "running"), f"marked-failed {name} run is {state}")

    # The asset event of the download wakes the downstream DAG.
    publish = []
    for _ in range(60):
        publish = af.get("/dags/bailian_publish_video/dagRuns")["dag_runs"]
        if publish and publish[0]["state"] in TERMINAL:
            break
        time.sleep(1)
    Check.that(
        bool(publish) and publish[0]["state"] == "success",
        "the downloaded video's asset event ran bailian_publish_video",
    )

    if args.executor == "celery":
        hosts = set()
        for dag_id, run_id in runs.items():
            hosts |= {ti["hostname"] for ti in af.task_instances(dag_id, run_id) if ti["hostname"]}
        mapped = {
            ti["hostname"]
            for ti in af.task_instances("bailian_mapped_prompts", runs["bailian_mapped_prompts"])
        }
        Check.that(
            {"e2e-worker-1", "e2e-worker-2"} <= mapped,
            f"the mapped-prompts DAG ran on both Celery workers ({sorted(mapped)}; "
            f"all runs on {sorted(hosts)})",
        )

    # 6. One submission per video, nothing cancelled on the main emulator.
    counts = submissions_by_prompt(args.emulator)
    Check.that(
        bool(counts) and max(counts.values()) == 1, f"one submission per video: {dict(counts)}"
    )
    # The examples (1 + 1 + 1 + 3 + 1), the worker's wait, bailian_e2e_s3.
    expected_videos = 7 + 1 + 1
    Check.that(sum(counts.values()) == expected_videos, f"{expected_videos} videos submitted")
    main_cancels = [r for r in emulator_requests(args.emulator) if r["route"] == "cancel"]
    Check.that(not main_cancels, "nothing was cancelled by timeouts")
    if full:
        slow = submissions_by_prompt(args.emulator_slow)
        Check.that(
            sorted(slow.values()) == [1, 1],
            f"one submission per wait across the triggerer restart ({dict(slow)})",
        )
        slow_cancels = [r for r in emulator_requests(args.emulator_slow) if r["route"] == "cancel"]
        Check.that(not slow_cancels, "nothing was cancelled by the triggerer restart")

    # 7. Deferred tasks went through the triggerer, which never blocked its loop.
    key = ("bailian_wait_deferrable", runs["bailian_wait_deferrable"], "generate")
    waits = trigger_logs(args.work, "bailian_wait_deferrable")
    # Seen DEFERRED while polling, or (on a slow machine the run can finish before it is polled)
    # its trigger log: Airflow writes one only for a task that deferred.
    Check.that(
        "deferred" in seen.get(key, set()) or bool(waits),
        f"the deferrable wait was DEFERRED (states seen {seen.get(key)}, trigger log: {bool(waits)})",
    )
    Check.that(
        "Waiting for Bailian task" in waits and "trigger completed" in waits,
        "the triggerer ran the wait (its trigger log shows BailianTaskTrigger waiting)",
    )
    triggerer_logs = read_log(args.work, "triggerer") + read_log(args.work, "triggerer-2")
    lines = triggerer_logs.splitlines()
    blocked = [
        line for line in lines if "was blocked for" in line or "blocked the event loop" in line
    ]
    # asyncio debug mode names each coroutine step that ran over 0.1 s.
    slow = [line for line in lines if "Executing <" in line and "took" in line]
    ours = [line for line in slow if "airflow_provider_bailian" in line]
    Check.that(not ours, f"no step of the provider's trigger ran over 0.1 s ({ours[:2]})")
    for line in slow:
        if line not in ours:
            print(f"note: a step of Airflow's own triggerer ran over 0.1 s: {line[:300]}")
    # Airflow's warning names no culprit: a block is the provider's unless one of Airflow's
    # own steps, named by asyncio's debug mode, ran over just before it was reported.
    theirs = [_log_time(line) for line in slow if line not in ours]
    unexplained = [
        line
        for line in blocked
        if not any(
            t is not None and (b := _log_time(line)) is not None and 0 <= (b - t) <= 3
            for t in theirs
        )
    ]
    for line in blocked:
        if line not in unexplained:
            print(f"note: Airflow's own step blocked the triggerer's loop: {line[:200]}")
    Check.that(
        not unexplained,
        f"the triggerer's event loop was never blocked by the provider ({unexplained[:2]})",
    )

    # A triggerer that stalls past its heartbeat: one executor is enough (the triggerer's
    # behaviour does not depend on it), and the Celery run keeps CI short.
    if args.executor == "local":
        check_triggerer_failover(af, args)
    else:
        print("the triggerer failover check runs in the LocalExecutor run only", flush=True)

    # 8. The token is nowhere: log files, XComs, rendered fields.
    leaks = []
    for path in args.work.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", "") and path.stat().st_size < 50e6:
            if "passwords" in path.name or "/pg/" in str(path):
                continue
            try:
                if args.token in path.read_text(errors="ignore"):
                    leaks.append(str(path))
            except OSError:
                pass
    Check.that(not leaks, f"the token is in no log file ({leaks[:3]})")
    api_text = ""
    for dag_id, run_id in [*runs.items(), ("bailian_e2e_worker_wait", worker_run)]:
        api_text += json.dumps(af.xcoms(dag_id, run_id))
        api_text += json.dumps(af.task_instances(dag_id, run_id))
    Check.that(
        "video_url" in api_text and args.token not in api_text,
        "the token is in no XCom or rendered template (REST API)",
    )

    if not full:
        print(f"{len(Check.failures)} failed checks in {time.time() - started:.0f} s", flush=True)
        return 1 if Check.failures else 0

    # 9. The gallery's API over HTTP.
    check_gallery_api(af, runs, args.token)

    # Planned batches above approve_above: approved in the browser, rejected through the API.
    check_plan_approvals(af, args, plan_runs)

    # 10. The UI, in a browser.
    link_run = runs["bailian_wait_deferrable"]
    video = af.get(
        f"/dags/bailian_wait_deferrable/dagRuns/{link_run}/taskInstances/generate"
        "/xcomEntries/video_url"
    )["value"]
    browser = subprocess.run(
        [
            *browser_command(args),
            "--dag-id",
            "bailian_wait_deferrable",
            "--run-id",
            link_run,
            "--task-id",
            "generate",
            "--expect-video-url",
            str(video),
            "--screenshots",
            args.browser_out,
            "--gallery-run-id",
            runs["bailian_mapped_prompts"],
            "--gallery-prompts",
            json.dumps(MAPPED_PROMPTS),
        ],
        timeout=240,
    )
    Check.that(browser.returncode == 0, "the UI checks passed in headless Chromium")

    print(f"{len(Check.failures)} failed checks in {time.time() - started:.0f} s", flush=True)
    return 1 if Check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
