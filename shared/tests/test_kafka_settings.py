"""The Kafka client settings (GRASSROOTS_KAFKA_*) as every client and the FastStream broker
get them: the local default unchanged, SASL_SSL/SCRAM-SHA-512, mutual TLS, refusals."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram512
from pydantic import ValidationError

from grassroots.plumbing.kafka import auth_options, broker_security
from grassroots.plumbing.settings import KafkaSettings, ServiceSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # `make test` runs with deploy/env.sh (the admin user of the local broker).
    for name in list(os.environ):
        if name.startswith("GRASSROOTS_KAFKA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a client certificate signed by it, as a cluster's operator hands them out."""
    folder = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test CA"),
        *("-keyout", "ca.key", "-out", "ca.crt", "-days", "1"),
    )
    openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=grading"),
        *("-keyout", "client.key", "-out", "client.csr"),
    )
    openssl(
        *("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key"),
        *("-CAcreateserial", "-days", "1", "-out", "client.crt"),
    )
    return folder


def test_no_username_is_a_plain_connection() -> None:
    assert broker_security() is None
    assert auth_options() == {}


def test_a_username_alone_is_the_local_broker_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRASSROOTS_KAFKA_USERNAME", "grading")
    monkeypatch.setenv("GRASSROOTS_KAFKA_PASSWORD", "s3cret")
    assert auth_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "grading",
        "sasl_plain_password": "s3cret",
    }


def test_sasl_ssl_with_scram_sha_512_verifies_the_brokers_against_the_ca(
    monkeypatch: pytest.MonkeyPatch, pki: Path
) -> None:
    monkeypatch.setenv("GRASSROOTS_KAFKA_USERNAME", "grading")
    monkeypatch.setenv("GRASSROOTS_KAFKA_PASSWORD", "s3cret")
    monkeypatch.setenv("GRASSROOTS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("GRASSROOTS_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("GRASSROOTS_KAFKA_CA_FILE", str(pki / "ca.crt"))
    options = auth_options()
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "grading",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [ca["subject"] for ca in context.get_ca_certs()] == [((("commonName", "test CA"),),)]
    # The FastStream broker is given the same.
    security = broker_security()
    assert isinstance(security, SASLScram512) and security.use_ssl


def test_mutual_tls_needs_no_password(monkeypatch: pytest.MonkeyPatch, pki: Path) -> None:
    monkeypatch.setenv("GRASSROOTS_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("GRASSROOTS_KAFKA_CA_FILE", str(pki / "ca.crt"))
    monkeypatch.setenv("GRASSROOTS_KAFKA_CERT_FILE", str(pki / "client.crt"))
    monkeypatch.setenv("GRASSROOTS_KAFKA_KEY_FILE", str(pki / "client.key"))
    monkeypatch.setenv("GRASSROOTS_KAFKA_USERNAME", "")  # "" is unset, as orchestrators write it
    options = auth_options()
    assert options["security_protocol"] == "SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert set(options) == {"security_protocol", "ssl_context"}
    security = broker_security()
    assert type(security) is BaseSecurity and security.use_ssl


def test_plain_is_for_tls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRASSROOTS_KAFKA_USERNAME", "county")
    monkeypatch.setenv("GRASSROOTS_KAFKA_SASL_MECHANISM", "PLAIN")
    with pytest.raises(ValidationError, match="over SASL_SSL only"):
        auth_options()
    monkeypatch.setenv("GRASSROOTS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    assert isinstance(broker_security(), SASLPlaintext)


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"SECURITY_PROTOCOL": "SASL_SSL"}, "needs a username"),
        ({"SECURITY_PROTOCOL": "SSL", "CERT_FILE": "/c.crt"}, "go together"),
        ({"CERT_FILE": "/c.crt", "KEY_FILE": "/c.key"}, "needs SSL or SASL_SSL"),
        ({"SECURITY_PROTOCOL": "TLS"}, "SASL_SSL"),
        ({"SASL_MECHANISM": "SCRAM-SHA-1"}, "SCRAM-SHA-512"),
        ({"REPLICATION_FACTOR": "1", "MIN_INSYNC_REPLICAS": "2"}, "cannot exceed"),
    ],
)
def test_inconsistent_settings_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], reason: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(f"GRASSROOTS_KAFKA_{name}", value)
    with pytest.raises(ValidationError, match=reason):
        KafkaSettings()


def test_replication_defaults_to_one_and_is_a_service_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = KafkaSettings()
    assert (defaults.kafka_replication_factor, defaults.kafka_min_insync_replicas) == (1, 1)
    monkeypatch.setenv("GRASSROOTS_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("GRASSROOTS_KAFKA_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("GRASSROOTS_DATABASE_URL", "postgresql://grading@localhost/db")
    settings = ServiceSettings()
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (3, 2)
    # Every Kafka setting is documented where the service's settings are.
    assert all(
        field.description
        for name, field in ServiceSettings.model_fields.items()
        if name.startswith("kafka_")
    )
