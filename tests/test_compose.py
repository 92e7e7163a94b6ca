"""docker-compose.yml cannot run here (no Docker engine); it must at least be right on paper."""

from __future__ import annotations

import re

import yaml

from pipeline.settings import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_solr_is_the_official_image_pinned_to_a_9x_release_in_cloud_mode() -> None:
    solr = COMPOSE["services"]["solr"]
    assert re.fullmatch(r"solr:9\.\d+\.\d+", solr["image"])
    assert solr["environment"]["ZK_HOST"].startswith("zookeeper:2181/"), "SolrCloud"
    assert all(port.startswith("127.0.0.1:") for port in solr["ports"])


def test_solr_asks_for_credentials_before_it_first_answers() -> None:
    services = COMPOSE["services"]
    for secure, nodes in (("solr-secure", ["solr"]),
                          ("solr-secure-cluster", ["solr1", "solr2", "solr3"])):  # fmt: skip
        command = services[secure]["command"]
        assert command[:3] == ["loginsights", "solr", "secure"]
        chroot = command[command.index("--zk-host") + 1]
        for node in nodes:
            assert services[node]["environment"]["ZK_HOST"] == chroot
            assert services[node]["depends_on"] == {
                secure: {"condition": "service_completed_successfully"}
            }, "security.json is in ZooKeeper before the node starts"
            assert "-eq 6" in " ".join(services[node]["healthcheck"]["test"]), "healthy = 401"
        passwords = services[secure]["environment"]
        for role in ("INDEXER", "READER", "ADMIN"):
            assert passwords[f"LOGINSIGHTS_SOLR_{role}_PASSWORD"].startswith(
                f"${{LOGINSIGHTS_SOLR_{role}_PASSWORD:?"
            ), "required, never a default"


def test_each_service_gets_only_the_solr_password_of_its_role() -> None:
    services = COMPOSE["services"]
    roles = {"worker": "INDEXER", "api": "READER", "solr-init": "ADMIN",
             "solr-init-cluster": "ADMIN"}  # fmt: skip
    for name, role in roles.items():
        given = {k for k in services[name]["environment"] if k.startswith("LOGINSIGHTS_SOLR_")
                 and k.endswith("_PASSWORD")}  # fmt: skip
        assert given == {f"LOGINSIGHTS_SOLR_{role}_PASSWORD"}, name


def test_a_one_shot_service_installs_the_configset_that_exists() -> None:
    init = COMPOSE["services"]["solr-init"]
    assert init["command"][-2:] == ["solr", "init"]
    assert init["depends_on"]["solr"]["condition"] == "service_healthy"
    assert init["restart"] == "no"
    mounted = [v.split(":")[0] for v in init["volumes"]]
    for source in mounted:
        assert (REPO_ROOT / source / "logInsights" / "conf" / "solrconfig.xml").is_file(), source
    assert (REPO_ROOT / "Dockerfile").is_file()


def test_the_pinned_image_matches_the_launcher_version() -> None:
    pom = (REPO_ROOT / "solr" / "launcher" / "pom.xml").read_text()
    launcher = re.search(r"<solr.version>([^<]+)</solr.version>", pom)
    assert launcher and COMPOSE["services"]["solr"]["image"] == f"solr:{launcher.group(1)}"


def test_the_api_runs_next_to_solr_with_a_required_token() -> None:
    api = COMPOSE["services"]["api"]
    assert api["command"][:2] == ["loginsights", "serve"]
    assert api["environment"]["LOGINSIGHTS_API_TOKENS"].startswith("${LOGINSIGHTS_API_TOKENS:?")
    assert api["environment"]["LOGINSIGHTS_SOLR_URL"] == "http://solr:8983/solr"
    assert api["depends_on"]["solr-init"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert all(port.startswith("127.0.0.1:") for port in api["ports"])


def test_workers_share_a_postgresql_ledger_and_stop_on_sigterm() -> None:
    worker = COMPOSE["services"]["worker"]
    assert worker["command"] == ["loginsights", "run"]
    assert worker["stop_signal"] == "SIGTERM"
    assert "container_name" not in worker and "ports" not in worker, "--scale worker=2 works"
    url = worker["environment"]["LOGINSIGHTS_LEDGER_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
    assert worker["depends_on"]["ledger-migrate"]["condition"] == "service_completed_successfully"
    migrate = COMPOSE["services"]["ledger-migrate"]
    assert migrate["command"] == ["loginsights", "db", "upgrade"]
    assert migrate["environment"]["LOGINSIGHTS_LEDGER_URL"] == url
    postgres = COMPOSE["services"]["postgres"]
    assert postgres["image"].startswith("postgres:") and postgres["healthcheck"]["test"]
    assert any(v.startswith("ledger-db:") for v in postgres["volumes"])


def test_a_cluster_profile_runs_zookeeper_and_three_solr_nodes() -> None:
    services = COMPOSE["services"]
    nodes = [services[name] for name in ("solr1", "solr2", "solr3")]
    assert all(node["profiles"] == ["cluster"] for node in nodes)
    assert all(node["environment"]["ZK_HOST"] == "zookeeper:2181/cluster" for node in nodes)
    assert len({node["environment"]["SOLR_HOST"] for node in nodes}) == 3
    assert services["zookeeper"]["image"].startswith("zookeeper:")
    init = services["solr-init-cluster"]
    assert init["command"][-4:] == ["--shards", "2", "--replication-factor", "2"]
    assert init["environment"]["LOGINSIGHTS_SOLR_URL"].count("http://") == 3
    assert all(port.startswith("127.0.0.1:") for node in nodes for port in node["ports"])


def test_zookeeper_asks_who_you_are_in_compose() -> None:
    """Every Solr node writes znodes with digest ACLs; only the services that write
    security.json have ZooKeeper's admin password; a reader of the cluster has the read-only."""
    services = COMPOSE["services"]
    for node in ("solr", "solr1", "solr2", "solr3"):
        acls = services[node]["environment"]["SOLR_ZK_CREDS_AND_ACLS"]
        for needed in ("DigestZkACLProvider", "DigestZkCredentialsProvider",
                       "VMParamsZkCredentialsInjector", "-DzkDigestPassword=${LOGINSIGHTS_ZK_ADMIN",
                       "-DzkDigestReadonlyPassword=${LOGINSIGHTS_ZK_READONLY"):  # fmt: skip
            assert needed in acls, (node, needed)
    for name, service in services.items():
        env = service.get("environment") or {}
        has_admin = "LOGINSIGHTS_ZK_ADMIN_PASSWORD" in env
        assert has_admin == (name in ("solr-secure", "solr-secure-cluster")), name
        if "LOGINSIGHTS_ZK_HOST" in env:
            assert "LOGINSIGHTS_ZK_READONLY_PASSWORD" in env, f"{name} watches ZooKeeper"
