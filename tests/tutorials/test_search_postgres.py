"""Tutorial search on a real PostgreSQL: a freshly migrated database of its own, the
catalogue synced from scripts (transcripts included), and the language-aware full-text
search of migration 0007 (German and English stemming, ranked, prefix matches)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from servicepoint import db
from servicepoint.app import create_app
from servicepoint.settings import reset_settings
from tests.tutorials.conftest import TRANSCRIPT_ONLY_WORD, Published, tiny_version
from tutorials import render, search, service

STEMMING = "pg-wohnung-melden"
RANK_TITLE = "pg-rank-title"
RANK_TRANSCRIPT = "pg-rank-transcript"
ENGLISH = "pg-registration-en"


def version(slug: str, language: str, title: str, narration: str) -> render.Version:
    data = {
        "service": "anmeldung",
        "versions": [
            {
                "slug": slug,
                "language": language,
                "title": title,
                "summary": "Kurz erklärt." if language == "de" else "Briefly explained.",
                "steps": [{"heading": "Schritt", "text": "", "narration": narration}],
            }
        ],
    }
    return render.parse_script(data, slug)[0]


CATALOGUE = [
    # "Anmeldung" and "Wasserturm" occur only here, and only in the transcript.
    version(
        STEMMING,
        "de",
        "Die Wohnung melden",
        "Für die Anmeldung brauchen Sie den Ausweis. Neben dem Amt steht ein Wasserturm.",
    ),
    version(RANK_TITLE, "de", "Meldebescheinigung beantragen", "So geht es."),
    version(
        RANK_TRANSCRIPT, "de", "Unterlagen", "Zum Schluss bekommen Sie eine Meldebescheinigung."
    ),
    version(ENGLISH, "en", "Your new flat", "The office verifies all registrations."),
]


@pytest.fixture(scope="module")
def new_database(postgres_url: str) -> Iterator[Callable[[], str]]:
    """Fresh, empty databases on the session's PostgreSQL cluster (dropped afterwards)."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"tutorials_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return postgres_url.rsplit("/", 1)[0] + "/" + name

    yield make
    for name in created:
        db.engine_for(postgres_url.rsplit("/", 1)[0] + "/" + name).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def catalogue(new_database: Callable[[], str], published: Published) -> str:
    """A migrated database with the shipped scripts, the test versions and the session's
    rendered tiny tutorial (same slug and media as on SQLite, for comparing the API)."""
    url = new_database()
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision()
    with db.session_scope_for(url) as session:
        service.sync_scripts(session)
        service.sync_scripts(session, [*CATALOGUE, tiny_version(published.slug)])
    with db.session_scope_for(url) as session:
        service.record_render(session, published.version, published.result)
    return url


def found(url: str, query: str, language: str | None = None) -> list[str]:
    with db.session_scope_for(url) as session:
        return [t.slug for t in service.search_catalogue(session, query, language, None)]


def test_a_word_only_in_a_transcript_is_found_and_nonsense_finds_nothing(catalogue: str) -> None:
    assert found(catalogue, "Wasserturm") == [STEMMING]
    assert found(catalogue, "wasser") == [STEMMING]  # a prefix, as on SQLite
    assert found(catalogue, "Wasserturm Ausweis") == [STEMMING]
    assert found(catalogue, "quantenschaum") == []
    assert found(catalogue, "Wasserturm quantenschaum") == []  # every word must occur
    assert found(catalogue, "der die das") == []  # stop words only: no error, no match
    assert found(catalogue, '" OR * NEAR( & | ! :* <->') == []


def test_german_inflected_forms_find_each_other(catalogue: str) -> None:
    # Neither is a prefix of the other: only stemming finds them.
    assert STEMMING in found(catalogue, "Anmeldungen")
    assert found(catalogue, "Wassertürme") == [STEMMING]
    assert STEMMING in found(catalogue, "Ausweise", "de")


def test_each_tutorial_is_stemmed_in_its_own_language(catalogue: str) -> None:
    with db.session_scope_for(catalogue) as session:
        rows = session.execute(
            text("SELECT slug, search_vector::text FROM tutorials WHERE slug IN (:a, :b)"),
            {"a": STEMMING, "b": ENGLISH},
        )
        vectors: dict[str, str] = {str(slug): str(vector) for slug, vector in rows}
    assert "'anmeld':" in vectors[STEMMING]  # german: Anmeldung -> anmeld
    assert "'registr':" in vectors[ENGLISH]  # english: registrations -> registr
    # "verified" reaches "verifies" only through the English stemmer ('verifi').
    assert found(catalogue, "verified") == [ENGLISH]
    assert found(catalogue, "verified", "de") == []


def test_a_match_in_the_title_ranks_above_one_in_the_transcript(catalogue: str) -> None:
    assert found(catalogue, "Meldebescheinigungen") == [RANK_TITLE, RANK_TRANSCRIPT]


def test_the_search_can_use_the_gin_index(catalogue: str) -> None:
    with db.session_scope_for(catalogue) as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in session.execute(
                text("EXPLAIN " + search._POSTGRES_SEARCH), {"q": "anmeld:*", "n": 50}
            )
        )
    assert "ix_tutorials_search_vector" in plan


def test_the_api_answers_the_same_shape_as_on_sqlite(
    catalogue: str, published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_answer = TestClient(create_app()).get(
        "/api/v1/tutorials", params={"q": TRANSCRIPT_ONLY_WORD}
    )
    monkeypatch.setenv("SERVICEPOINT_DATABASE_URL", catalogue)
    reset_settings()
    try:
        client = TestClient(create_app())
        postgres_answer = client.get("/api/v1/tutorials", params={"q": TRANSCRIPT_ONLY_WORD})
        stemmed = client.get("/api/v1/tutorials", params={"q": "Anmeldungen", "lang": "de"})
        nothing = client.get("/api/v1/tutorials", params={"q": "quantenschaum"})
    finally:
        monkeypatch.undo()
        reset_settings()
    assert sqlite_answer.status_code == postgres_answer.status_code == 200
    assert nothing.status_code == 200
    assert nothing.json() == []

    def item(answer: Any) -> dict[str, Any]:
        items = {t["slug"]: t for t in answer.json()}
        chosen: dict[str, Any] = items[published.slug]
        return {key: value for key, value in chosen.items() if key != "id"}

    assert item(postgres_answer) == item(sqlite_answer)
    assert STEMMING in [t["slug"] for t in stemmed.json()]
    keys = set(sqlite_answer.json()[0])
    assert all(set(t) == keys for t in stemmed.json())


def test_migration_0007_restems_existing_rows_and_reverts(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    db.upgrade(url, "0006")
    with db.session_scope_for(url) as session:
        service.sync_scripts(session, CATALOGUE[:1])

    def vector() -> str:
        with db.session_scope_for(url) as session:
            query = text("SELECT search_vector::text FROM tutorials WHERE slug = :s")
            return str(session.execute(query, {"s": STEMMING}).scalar_one())

    assert "'anmeldung':" in vector()  # 0006: 'simple', no stemming
    db.upgrade(url)
    assert "'anmeld':" in vector()
    assert found(url, "Anmeldungen") == [STEMMING]
    from alembic import command

    command.downgrade(db.alembic_config(url), "0006")
    assert "'anmeldung':" in vector()
