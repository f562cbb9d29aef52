"""`grassroots`: the command line for county systems and operators."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from grassroots.contract import documents
from grassroots.plumbing.kafka import ensure_topics, make_producer, platform_topics
from grassroots.publishing import Checked, check_lines, publish_events
from grassroots.simulation import CampaignSimulation

app = typer.Typer(help="Grassroots platform tools.", no_args_is_help=True, add_completion=False)
topics_app = typer.Typer(help="Kafka topics of the platform.", no_args_is_help=True)
contract_app = typer.Typer(help="The machine-readable contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(contract_app, name="contract")

Bootstrap = Annotated[
    str,
    typer.Option(envvar="GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers."),
]
CONTRACT_FOLDER = Path(__file__).resolve().parents[2] / "contract"


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
def write_contract(folder: Path = CONTRACT_FOLDER) -> None:
    """Regenerate the JSON Schemas and the AsyncAPI document from the models."""
    changed = documents.write(folder)
    typer.echo(f"{len(changed)} files changed" + "".join(f"\n  {name}" for name in changed))


if __name__ == "__main__":
    app()


@app.command()
def demo(
    bootstrap_servers: Bootstrap = "127.0.0.1:9092",
    branches: Annotated[int, typer.Option(help="Branches in the demo county.")] = 150,
    seed: Annotated[int, typer.Option(help="Same seed, same events.")] = 2012,
) -> None:
    """Publish the demo campaign: Pucheng's schools, graded, in the middle of rectification."""
    simulation = CampaignSimulation(seed=seed, branches=branches)
    lines = [json.dumps(event, ensure_ascii=False).encode() for event in simulation.events()]
    checked = check_lines(lines)
    if checked.bad:  # the generator must produce only valid events
        typer.echo(f"demo generator produced an invalid event: {checked.bad[0]}", err=True)
        raise typer.Exit(1)
    published = asyncio.run(_publish(bootstrap_servers, checked))
    typer.echo(f"demo campaign {simulation.campaign_id}: {published} events published")
