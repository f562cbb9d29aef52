"""`grassroots`: the command line for county systems and operators."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from grassroots import contract_documents, first_run
from grassroots.contract import kafka_record, parse_event
from grassroots.contract.common import Phase
from grassroots.plumbing.kafka import ensure_topics, make_producer, platform_topics
from grassroots.publishing import Checked, check_lines, publish_events
from grassroots.simulation import CampaignSimulation, paced

# first_run.Typer: a misconfiguration or a dependency that does not answer is one line, exit 2.
app = first_run.Typer(help="Grassroots platform tools.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics of the platform.", no_args_is_help=True)
contract_app = typer.Typer(help="The machine-readable contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(contract_app, name="contract")

Bootstrap = Annotated[
    str,
    typer.Option(envvar="GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers."),
]


@app.command()
def publish(
    file: Annotated[str, typer.Argument(help="JSON lines of CloudEvents; - for standard input.")],
    bootstrap_servers: Bootstrap = "127.0.0.1:9092",
    check_only: Annotated[bool, typer.Option("--check", help="Validate only.")] = False,
) -> None:
    """Validate every line against the contract, publish the good ones; exit 1 if any was bad."""
    stream = sys.stdin.buffer if file == "-" else Path(file).open("rb")  # noqa: SIM115
    with stream:
        checked = check_lines(stream)
    for bad in checked.bad:
        typer.echo(f"{file}: {bad}", err=True)
    published = 0
    if checked.good and not check_only:
        published = asyncio.run(_publish(bootstrap_servers, checked))
    verb = "valid" if check_only else "published"
    typer.echo(f"{len(checked.good) if check_only else published} {verb}, {len(checked.bad)} bad")
    raise typer.Exit(1 if checked.bad else 0)


async def _publish(bootstrap_servers: str, checked: Checked) -> int:
    producer = make_producer(bootstrap_servers, client_id="grassroots-publish")
    await producer.start()
    try:
        return await publish_events(producer, checked.good)
    finally:
        await producer.stop()


@topics_app.command("create")
def create_topics(
    bootstrap_servers: Bootstrap = "127.0.0.1:9092",
    partitions: Annotated[int, typer.Option(envvar="GRASSROOTS_TOPIC_PARTITIONS")] = 4,
) -> None:
    """Create every topic of the contract and its .dlq (existing ones are left as they are)."""
    created = asyncio.run(
        ensure_topics(bootstrap_servers, platform_topics(), partitions=partitions)
    )
    typer.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))


@contract_app.command("write")
def write_contract(folder: Path = contract_documents.CONTRACT_FOLDER) -> None:
    """Regenerate the JSON Schemas and the AsyncAPI document from the models (in contract/)."""
    changed = contract_documents.write(folder)
    typer.echo(f"{len(changed)} files changed" + "".join(f"\n  {name}" for name in changed))


@app.command()
def demo(
    bootstrap_servers: Bootstrap = "127.0.0.1:9092",
    branches: Annotated[int, typer.Option(help="Branches in the demo county.")] = 150,
    seed: Annotated[int, typer.Option(help="Same seed, same events.")] = 2012,
) -> None:
    """Publish the demo campaign: Pucheng's schools through all four phases."""
    simulation = CampaignSimulation(seed=seed, branches=branches)
    lines = [json.dumps(event, ensure_ascii=False).encode() for event in simulation.events()]
    checked = check_lines(lines)
    if checked.bad:  # the generator must produce only valid events
        typer.echo(f"demo generator produced an invalid event: {checked.bad[0]}", err=True)
        raise typer.Exit(1)
    published = asyncio.run(_publish(bootstrap_servers, checked))
    typer.echo(f"demo campaign {simulation.campaign_id}: {published} events published")


@app.command("templates")
def write_import_templates(
    folder: Annotated[Path, typer.Argument(help="Where to write the .xlsx templates.")],
) -> None:
    """Write the Excel import templates: one workbook per kind of record, and 全部模板.xlsx."""
    from grassroots.importing.templates import write_templates

    for path in write_templates(folder):
        typer.echo(str(path))


@app.command("import")
def import_workbook(
    file: Annotated[Path, typer.Argument(help="A workbook filled in from the templates.")],
    campaign: Annotated[str, typer.Option(help="The campaign, e.g. pucheng-edu-2012.")],
    county: Annotated[
        str, typer.Option(envvar="GRASSROOTS_COUNTY_CODE", help="The county code, 6 digits.")
    ],
    source: Annotated[
        str | None,
        typer.Option(help="CloudEvents source (default /counties/<county>/excel-import)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Publish nothing; print the events as JSON lines.")
    ] = False,
    publish_good_rows: Annotated[
        bool, typer.Option("--publish-good-rows", help="Publish the good rows despite errors.")
    ] = False,
    intake: Annotated[
        str | None,
        typer.Option(
            help="Publish over this HTTP intake (credential: GRASSROOTS_INTAKE_CREDENTIAL)."
        ),
    ] = None,
    bootstrap_servers: Bootstrap = "127.0.0.1:9092",
) -> None:
    """Import a workbook: every bad cell is reported (sheet, row, column, reason); nothing is
    published from a file with errors unless --publish-good-rows. Exit 1 if any row was bad."""
    from grassroots.importing import command
    from grassroots.importing.reading import Where

    try:
        credential = command.check_options(campaign, county, intake)
        where = Where(county, campaign, source or command.default_source(county))
        result = command.read(file, where)
    except command.UsageError as error:
        typer.echo(f"{file}: {error}", err=True)
        raise typer.Exit(2) from None
    for line in command.error_lines(result.sorted_errors()):
        typer.echo(line, err=True)
    for line in command.summary_lines(result):
        typer.echo(line, err=dry_run)
    if dry_run:
        command.print_dry_run(result.events)
        typer.echo(f"试运行：未发布任何数据（将发布 {len(result.events)} 条）", err=True)
    elif result.errors and not publish_good_rows:
        typer.echo(
            "文件有错误，未发布任何数据：请改正后重新导入，或用 --publish-good-rows 只发布正确的行"
        )
    elif result.events:
        try:
            published, refused = command.publish(
                result.events,
                intake=intake,
                credential=credential,
                bootstrap_servers=bootstrap_servers,
            )
        except command.PublishFailed as failed:
            typer.echo(f"{failed.reason}；已发布 {failed.published} 条，其余未发布", err=True)
            raise typer.Exit(1) from None
        for line in command.error_lines(refused):
            typer.echo(line, err=True)
        typer.echo(
            f"已发布 {published} 条" + (f"，接收服务拒绝 {len(refused)} 条" if refused else "")
        )
        if refused:
            raise typer.Exit(1)
    raise typer.Exit(1 if result.errors else 0)


@app.command()
def simulate(
    counties: Annotated[int, typer.Option(min=1, help="Counties, one campaign each.")] = 1,
    branches: Annotated[int, typer.Option(min=1, help="Branches per county.")] = 150,
    seed: Annotated[int, typer.Option(help="Same seed, same events (ids included).")] = 2012,
    until: Annotated[Phase, typer.Option(help="The last phase to run.")] = Phase.ASSESSMENT,
    close_last: Annotated[
        bool, typer.Option("--close-last/--leave-last-open", help="Close the last phase.")
    ] = True,
    rate: Annotated[
        float, typer.Option(min=0, help="Events per second; 0 publishes as fast as possible.")
    ] = 0,
    output: Annotated[
        Path | None,
        typer.Option(help="Write JSON lines to this file (- for standard output), not Kafka."),
    ] = None,
    clock_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the campaign's day (RFC 3339) here as events go out, for services "
            "started with GRASSROOTS_CLOCK_FILE: their sweeps then follow the campaign."
        ),
    ] = None,
    bootstrap_servers: Bootstrap = "127.0.0.1:9092",
) -> None:
    """Generate a whole campaign for N counties × M branches and publish it (or write it).

    Every event is validated against the contract before it leaves. Events come in calendar
    order; keyed by branch, so each branch's events stay in order on their partition.
    """
    simulation = CampaignSimulation(seed=seed, branches=branches, counties=counties)
    total = simulation.count(until=until, close_last=close_last)
    events = simulation.events(until=until, close_last=close_last)
    if output is not None:
        stream = sys.stdout.buffer if str(output) == "-" else output.open("wb")
        with stream:
            for event in events:
                raw = json.dumps(event, ensure_ascii=False).encode()
                parse_event(raw)
                stream.write(raw + b"\n")
        if str(output) != "-":
            typer.echo(f"{total} events written to {output}", err=True)
        return
    published = asyncio.run(_simulate(bootstrap_servers, events, total, rate, clock_file))
    typer.echo(
        f"{published} events published for {counties} × {branches} branches"
        f" ({simulation.campaign_id}{' …' if counties > 1 else ''})"
    )


async def _simulate(
    bootstrap_servers: str,
    events: Iterable[dict[str, Any]],
    total: int,
    rate: float,
    clock_file: Path | None,
) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    producer = make_producer(bootstrap_servers, client_id="grassroots-simulate")
    await producer.start()
    published = 0
    clock = ""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[speed]}"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("publishing", total=total, speed="")
            started = time.perf_counter()
            async for chunk in paced(events, rate):
                futures = []
                for event in chunk:
                    raw = json.dumps(event, ensure_ascii=False).encode()
                    # The generator must produce only valid events; they go out as generated.
                    record = kafka_record(parse_event(raw), value=raw)
                    futures.append(
                        await producer.send(
                            record.topic,
                            value=record.value,
                            key=record.key,
                            headers=list(record.headers),
                        )
                    )
                day = chunk[-1]["time"][:10]
                if clock_file is not None and day > clock:
                    clock = day
                    await asyncio.to_thread(
                        clock_file.write_text, f"{day}T00:00:00+08:00", encoding="utf-8"
                    )
                await asyncio.gather(*futures)
                published += len(chunk)
                speed = published / max(1e-9, time.perf_counter() - started)
                progress.update(task, advance=len(chunk), speed=f"{speed:,.0f} events/s")
    finally:
        await producer.stop()
    return published


if __name__ == "__main__":
    app()
