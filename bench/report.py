"""results.json, results.md and plot.png from one run's measurements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import api, intake

# Issue 21: each service's ingest as a share of the bare limit (notification: planning only,
# its delivery worker being a process of its own).
TARGET_LIMIT_SHARE = {"grading": 0.5, "reporting": 0.5, "notification": 0.25}
TARGET_NAIVE_FACTOR = 10.0
TARGET_P99_MS = 1000.0
TARGET_P99_AT = 1000
TARGET_CAMPAIGN_SECONDS = 600.0
TARGET_COUNTY_CAMPAIGN_SECONDS = 60.0  # the 1,000-branch campaign run to the end
TARGET_RSS_MB = 300.0
SOAK_FLAT_MB_PER_MIN = 0.5  # "flat": under 15 MB over the 30 minutes


def _n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _met(ok: bool | None) -> str:
    if ok is None:
        return "not decided (time box shorter than the target)"
    return "**met**" if ok else "**missed**"


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the measured value, met or not, and by how much."""
    found: list[dict[str, Any]] = []
    for part in results.get("ingest", []):
        target = TARGET_LIMIT_SHARE.get(part["service"])
        if target is None:
            continue
        share = part.get("ours_over_limit")
        factor = part.get("ours_over_naive")
        if share is not None:
            found.append(
                {
                    "target": f"{part['service']} ingest ≥ {target:.0%} of the limit",
                    "measured": f"{share:.1%}",
                    "met": share >= target,
                    "by": None
                    if share >= target
                    else f"{target / share:.1f}× too slow ({share:.1%} of {target:.0%})",
                }
            )
        if factor is not None:
            found.append(
                {
                    "target": f"{part['service']} ingest ≥ 10× naive",
                    "measured": f"{factor:.1f}×",
                    "met": factor >= TARGET_NAIVE_FACTOR,
                    "by": None
                    if factor >= TARGET_NAIVE_FACTOR
                    else f"{TARGET_NAIVE_FACTOR / factor:.1f}× short",
                }
            )
    for level in results.get("latency", {}).get("levels", []):
        if level["offered_events_per_second"] != TARGET_P99_AT:
            continue
        p99 = level["p99_ms"]
        floor = level["probes_not_visible"] > 0
        found.append(
            {
                "target": f"end-to-end p99 ≤ 1 s at {TARGET_P99_AT:,} events/s",
                "measured": f"{'≥ ' if floor else ''}{_n(p99)} ms",
                "met": p99 is not None and p99 <= TARGET_P99_MS and not floor,
                "by": None
                if p99 is not None and p99 <= TARGET_P99_MS and not floor
                else f"{(p99 or 0) / TARGET_P99_MS:.1f}× over",
            }
        )
    campaign = results.get("campaign")
    if campaign:
        wall = campaign.get("wall_seconds")
        projected = [
            p["projected_seconds"]
            for p in campaign.get("projection", {}).values()
            if p.get("projected_seconds")
        ]
        estimate = wall if wall is not None else max(projected, default=None)
        ok: bool | None = wall is not None and wall <= TARGET_CAMPAIGN_SECONDS
        if wall is None and campaign["box_seconds"] < TARGET_CAMPAIGN_SECONDS:
            ok = None  # a shorter box than the target: not decided
        found.append(
            {
                "target": f"{campaign['branches']:,}-branch campaign ≤ 10 min",
                "measured": f"{wall / 60:.1f} min"
                if wall is not None
                else f"not complete in {campaign['box_seconds'] / 60:.0f} min; projected ≥ "
                f"{(estimate or 0) / 60:.0f} min",
                "met": ok,
                "by": None
                if ok or ok is None
                else f"{(estimate or 0) / TARGET_CAMPAIGN_SECONDS:.1f}× over",
            }
        )
        small = results.get("campaign_complete") or {}
        for service, mb in campaign.get("peak_rss_mb", {}).items():
            other = small.get("peak_rss_mb", {}).get(service, 0.0)
            worst = max(mb, other)
            where = f"{mb:,.0f} MB ({campaign['branches']:,}-branch run)"
            if small:
                where += f", {other:,.0f} MB ({small['branches']:,}-branch run to the end)"
            found.append(
                {
                    "target": f"{service} peak RSS < 300 MB (campaign)",
                    "measured": where,
                    "met": worst < TARGET_RSS_MB,
                    "by": None
                    if worst < TARGET_RSS_MB
                    else f"{worst - TARGET_RSS_MB:,.0f} MB over ({worst / TARGET_RSS_MB - 1:.0%})",
                }
            )
        if small:
            small_wall = small.get("wall_seconds")
            small_ok = small_wall is not None and small_wall <= TARGET_COUNTY_CAMPAIGN_SECONDS
            found.append(
                {
                    "target": f"{small['branches']:,}-branch county campaign ≤ 60 s",
                    "measured": f"{small_wall:.0f} s"
                    if small_wall is not None
                    else f"not complete in {small['box_seconds']:.0f} s",
                    "met": small_ok,
                    "by": None
                    if small_ok or small_wall is None
                    else f"{small_wall - TARGET_COUNTY_CAMPAIGN_SECONDS:.0f} s over",
                }
            )
    soak = results.get("soak")
    if soak:
        for role, figures in soak["summary"].items():
            flat = abs(figures["slope_mb_per_min"]) <= SOAK_FLAT_MB_PER_MIN
            ok = figures["peak_mb"] <= TARGET_RSS_MB and flat
            found.append(
                {
                    "target": f"{role} ≤ 300 MB, flat over a {soak['minutes']:.0f}-minute soak",
                    "measured": f"peak {figures['peak_mb']:.0f} MB, "
                    f"{figures['slope_mb_per_min']:+.3f} MB/min",
                    "met": ok,
                    "by": None if ok else f"peak {figures['peak_mb']:.0f} MB",
                }
            )
    if results.get("intake"):
        found.append(intake.verdict(results["intake"]))
    if results.get("api"):
        found += api.verdicts(results["api"])
    return found


def markdown(results: dict[str, Any], profiles: dict[str, str]) -> str:
    meta = results["meta"]
    lines = [
        "# Benchmark results",
        "",
        f"Commit `{meta['commit']}`, {meta['started']} UTC, {meta['machine']}; "
        f"mode `{meta['mode']}`, seed {meta['seed']}, whole run {meta['seconds'] / 60:.1f} min. "
        f"Load average before/after: {meta['load_before']} / {meta['load_after']} "
        "(the machine is shared: other work adds noise; the side-by-side ratios are the "
        "robust numbers). Reproduce: see bench/README.md.",
        "",
        *([str(meta["note"]), ""] if meta.get("note") else []),
        "## Targets",
        "",
        "| target | measured | verdict | by how much |",
        "|---|---|---|---|",
    ]
    for v in verdicts(results):
        lines.append(f"| {v['target']} | {v['measured']} | {_met(v['met'])} | {v['by'] or ''} |")

    ingest = results.get("ingest", [])
    if ingest:
        lines += [
            "",
            "## 1 + 4. Ingest throughput, side by side on the same events",
            "",
            "Events applied per second. *ours*: the service process (exactly-once path: inbox +"
            " state + outbox in one transaction per batch). *limit*: bare aiokafka consumer,"
            " COPY of the inbox row and one state row per event, no validation, no logic."
            " *naive*: FastStream handler, one transaction per event (inbox + the service's own"
            " handler), an awaited publish per event and per emitted event, offset committed per"
            " event. Each on a fresh consumer group from the start of the same topics.",
            "",
            "| service | workload | records | ours ev/s | limit ev/s | naive ev/s "
            "| ours/limit | ours/naive | ours CPU (cores: service / PostgreSQL / Kafka) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for part in ingest:
            runs = {r["contender"]: r for r in part["runs"]}
            ours = runs.get("ours", {})
            cpu = ours.get("cpu_cores", {})

            def rate(name: str, runs: dict[str, Any] = runs) -> str:
                run = runs.get(name)
                if not run:
                    return "—"
                partial = "" if run["complete"] else "*"
                return f"{run['events_per_second']:,.0f}{partial}"

            lines.append(
                f"| {part['service']} | {part['workload']} ({part['branches']:,} branches) "
                f"| {part['records']:,} | {rate('ours')} | {rate('limit')} | {rate('naive')} "
                f"| {_pct(part.get('ours_over_limit'))} | {_x(part.get('ours_over_naive'))} "
                f"| {cpu.get('service', 0):.2f} / {cpu.get('postgres', 0):.2f} / "
                f"{cpu.get('kafka', 0):.2f} |"
            )
        lines += [
            "",
            "\\* measured over a time box (steady rate from the first commit), not to the end.",
        ]

    latency = results.get("latency")
    if latency:
        lines += [
            "",
            "## 2. End-to-end latency under steady offered load",
            "",
            f"All four services; {latency['branches']:,} branches registered first. The load"
            " (open loop, a fixed schedule) mixes the initial round's grading inputs with the"
            " rectification phase; among it, 20 probes/s whose effect (the probe branch's"
            " `assessment_score` on its card) is polled on the reporting API every 20 ms."
            " Latency: probe published → visible in the API. Probes not visible within the"
            " wait count as the wait (the percentiles are then a floor).",
            "",
            "| offered ev/s | achieved ev/s | seconds | p50 ms | p99 ms | max ms "
            "| probes not visible | backlog at end | drained in s "
            "| CPU (cores) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for level in latency["levels"]:
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in level["cpu_cores"].items())
            lines.append(
                f"| {level['offered_events_per_second']:,} | "
                f"{level['achieved_events_per_second']:,.0f} | {level['seconds']:.0f} "
                f"| {_n(level['p50_ms'])} | {_n(level['p99_ms'])} | {_n(level['max_ms'])} "
                f"| {level['probes_not_visible']} / {level['probes']} "
                f"| {level['backlog_at_end']:,} "
                f"| {_n(level['drained_seconds'], 1) if level['drained_seconds'] is not None else 'not in wait'} "
                f"| {cpu} |"
            )
        rss = ", ".join(f"{k} {v:,.0f} MB" for k, v in latency["peak_rss_mb"].items())
        lines += ["", f"Peak RSS during the latency run: {rss}."]

    for key, title in (
        ("campaign", "3. Province campaign"),
        ("campaign_complete", "3b. A smaller campaign run to the end (memory of every phase)"),
    ):
        if results.get(key):
            lines += _campaign(results[key], title)

    soak = results.get("soak")
    if soak:
        lines += [
            "",
            f"## 3c. Notification's memory over a {soak['minutes']:.0f}-minute soak (`make soak`)",
            "",
            f"Its own run (not part of `make bench`): {soak['rate_per_second']:.0f} results a"
            f" second for {soak['branches']:,} branches, a circular to every organisation every"
            f" {soak['fanout_every_seconds']:.0f} s; `--role consume` and `--role deliver` as two"
            " processes. Resident memory after a warm-up of"
            f" {soak['warmup_minutes']:.0f} min; plot: `soak.png`.",
            "",
            "| process | start MB | end MB | peak MB | slope MB/min | slope, last half |",
            "|---|---:|---:|---:|---:|---:|",
            *(
                f"| {role} | {f['start_mb']:.1f} | {f['end_mb']:.1f} | {f['peak_mb']:.1f}"
                f" | {f['slope_mb_per_min']:+.3f} | {f['slope_last_half_mb_per_min']:+.3f} |"
                for role, f in soak["summary"].items()
            ),
        ]
    if results.get("intake"):
        lines += intake.markdown(results["intake"])
    if results.get("api"):
        lines += api.markdown(results["api"], results.get("api_naive"))

    if profiles:
        lines += [
            "",
            "## Profiles (py-spy)",
            "",
            "`<service>`: while it ingested its workload (part 1, 100 Hz);"
            " `campaign-<service>`: the whole province campaign (part 3, 20 Hz)."
            " Full summaries in `profile-<name>.md` beside this file.",
        ]
        for service, text in profiles.items():
            head = "\n".join(text.splitlines()[:12])
            lines += ["", f"### {service}", "", "```", head, "```"]
    return "\n".join(lines) + "\n"


def _campaign(campaign: dict[str, Any], title: str) -> list[str]:
    lines = [
        "",
        f"## {title}: {campaign['branches']:,} branches"
        f" ({campaign['counties']} counties), all four phases",
        "",
    ]
    if campaign.get("complete"):
        lines.append(
            f"Complete in **{campaign['wall_seconds'] / 60:.1f} min** "
            f"({campaign['events']:,} input events; every round computed, every campaign"
            " settled, every outbox sent, every service caught up)."
        )
    else:
        final = campaign["final"]
        lines.append(
            f"**Not complete** when the time box of {campaign['box_seconds'] / 60:.0f} min"
            f" ended: {final['published_events']:,} of {sum(campaign['expected'].values()):,}"
            f" input events published (publishing had reached: {final['phase_published']});"
            f" records still to consume per service: "
            + ", ".join(f"{k} {v:,}" for k, v in final["remaining_records"].items())
            + ". At each service's rate so far, the whole campaign would need at least:"
        )
        lines += [
            "",
            "| service | consumed | to consume (at least) | ev/s so far | projected |",
            "|---|---:|---:|---:|---:|",
        ]
        for service, p in campaign.get("projection", {}).items():
            seconds = p.get("projected_seconds")
            lines.append(
                f"| {service} | {p['consumed']:,} | {p['to_consume_at_least']:,} "
                f"| {p['events_per_second']:,.0f} "
                f"| {_n(seconds / 60 if seconds else None, 0)} min |"
            )
    lines += [
        "",
        "| service | peak RSS MB | CPU (cores, whole run) |",
        "|---|---:|---:|",
    ]
    for service, mb in campaign["peak_rss_mb"].items():
        lines.append(f"| {service} | {mb:,.0f} | {campaign['cpu'].get(service, 0):.2f} |")
    lines.append(
        f"| PostgreSQL | | {campaign['cpu'].get('postgres', 0):.2f} |\n"
        f"| Kafka | | {campaign['cpu'].get('kafka', 0):.2f} |"
    )
    gates = campaign.get("gates", [])
    if gates:
        lines += [
            "",
            "Clock moves (each after rectification applied everything published before): "
            + "; ".join(
                f"{g['day']} at {g['at_seconds']} s ({_waited(g['waited_seconds'])})" for g in gates
            )
            + ".",
        ]
    state = campaign["final"].get("state", {})
    if state:
        lines += ["", f"State at the end: `{json.dumps(state, ensure_ascii=False)}`"]
    rss = campaign.get("timeline", [])
    if rss:
        lines += [
            "",
            "Resident memory over the run (MB, high-water mark so far; at most 12 of the"
            " 10-second samples): "
            + "; ".join(
                f"{t['seconds']:.0f} s (publishing {t['phase']}): "
                + ", ".join(f"{k} {v:,.0f}" for k, v in t["rss_mb"].items())
                for t in rss[:: max(1, len(rss) // 12)]
            ),
        ]
    return lines


def _waited(seconds: float | None) -> str:
    if seconds is None:
        return "rectification had not caught up when the time box ended"
    return f"waited {seconds} s for rectification to catch up"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×"


def plot(results: dict[str, Any], path: Path) -> None:
    """Throughput and latency against offered load; ingest side by side."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 5))
    levels = results.get("latency", {}).get("levels", [])
    if levels:
        offered = [lv["offered_events_per_second"] for lv in levels]
        achieved = [lv["achieved_events_per_second"] for lv in levels]
        left.plot(offered, offered, "--", color="grey", label="offered = achieved")
        left.plot(offered, achieved, "o-", label="published (achieved)")
        for service in ("grading", "rectification", "notification", "reporting"):
            consumed = [lv.get("consumed_per_second", {}).get(service) for lv in levels]
            if any(consumed):
                left.plot(offered, [c or 0.1 for c in consumed], ".-", label=f"{service} consumed")
        left.set_xscale("log")
        left.set_yscale("log")
        left.set_xticks(offered, [f"{x:,}" for x in offered])
        left.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        left.set_xlabel("offered load, events/s")
        left.set_ylabel("events/s")
        left.set_title("Throughput under offered load")
        left.legend(fontsize=8)

        for key, style in (("p50_ms", "o-"), ("p99_ms", "s-"), ("max_ms", "^:")):
            middle.plot(offered, [lv[key] for lv in levels], style, label=key.split("_")[0])
        middle.axhline(TARGET_P99_MS, color="red", linestyle="--", label="target p99 1 s")
        middle.set_xscale("log")
        middle.set_yscale("log")
        middle.set_xticks(offered, [f"{x:,}" for x in offered])
        middle.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        middle.set_xlabel("offered load, events/s")
        middle.set_ylabel("probe published → visible in API, ms")
        middle.set_title("End-to-end latency")
        middle.legend(fontsize=8)

    ingest = results.get("ingest", [])
    if ingest:
        names = [part["service"] for part in ingest]
        width = 0.27
        for offset, contender in enumerate(("ours", "limit", "naive")):
            values = [
                next(
                    (r["events_per_second"] for r in part["runs"] if r["contender"] == contender),
                    0,
                )
                for part in ingest
            ]
            right.bar(
                [i + (offset - 1) * width for i in range(len(names))],
                values,
                width,
                label=contender,
            )
        right.set_xticks(range(len(names)), names)
        right.set_yscale("log")
        right.set_ylabel("events applied/s")
        right.set_title("Ingest: ours vs limit vs naive")
        right.legend(fontsize=8)
    figure.suptitle(
        f"Grassroots benchmark — {results['meta']['machine']}, commit {results['meta']['commit']}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(results: dict[str, Any], folder: Path, profiles: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for service, text in profiles.items():
        (folder / f"profile-{service}.md").write_text(
            f"# py-spy profile: {service}\n\n```\n{text}\n```\n", encoding="utf-8"
        )
    (folder / "results.json").write_text(
        json.dumps({**results, "verdicts": verdicts(results)}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    (folder / "results.md").write_text(markdown(results, profiles), encoding="utf-8")
    plot(results, folder / "plot.png")
