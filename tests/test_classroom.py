"""Classroom mode (hgsr.suite.classroom): smoke results are marked as placeholders beside the committed ones,
and a smoke run never writes over the committed figures."""
import pandas as pd
import pytest

from hgsr.suite import classroom


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(classroom.Lecture, "_display", lambda self, md: out.append(md))
    return out


def test_default_profile_saves_and_shows_the_sentence_unchanged(tmp_path, shown):
    lecture = classroom.Lecture("default", tmp_path, committed=tmp_path / "committed")
    lecture.say("L1 leaves the most filters.", "99_verdict")
    assert shown == ["L1 leaves the most filters."]
    assert (tmp_path / "tables" / "99_verdict.md").read_text() == "L1 leaves the most filters.\n"


def test_smoke_marks_the_live_sentence_and_quotes_the_committed_one(tmp_path, shown):
    committed = tmp_path / "committed"
    (committed / "tables").mkdir(parents=True)
    (committed / "tables" / "99_verdict.md").write_text("Committed: group lasso wins.\n")
    classroom.Lecture("smoke", tmp_path / "out", committed=committed).say("Smoke: L1 wins.", "99_verdict")
    md = shown[0]
    assert md.index("Placeholder") < md.index("> Smoke: L1 wins.") < md.index("Committed: group lasso wins.")
    assert "smoke profile's tiny budget" in md


def test_smoke_without_a_committed_result_says_how_to_make_it(tmp_path, shown):
    classroom.Lecture("smoke", tmp_path, committed=tmp_path / "none").say("x", "99_missing")
    assert "none yet at `figures/tables/99_missing.md`" in shown[0] and "make figures" in shown[0]


def test_smoke_table_is_followed_by_the_committed_table(tmp_path, shown, monkeypatch):
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    committed = tmp_path / "committed"
    (committed / "tables").mkdir(parents=True)
    (committed / "tables" / "99_table.md").write_text("| a |\n|---|\n| 7 |\n")
    classroom.Lecture("smoke", tmp_path / "out", committed=committed).table(pd.DataFrame({"a": [1]}), "99_table")
    assert "Placeholder" in shown[0] and "| 7 |" in shown[-1]
    assert (tmp_path / "out" / "tables" / "99_table.csv").is_file()


def test_default_table_is_displayed_and_saved(tmp_path, monkeypatch):
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    classroom.Lecture("default", tmp_path).table(pd.DataFrame({"a": [1]}), "99_table")
    assert len(shown) == 1 and "1" in shown[0].to_html()
    assert (tmp_path / "tables" / "99_table.md").is_file()


def test_a_smoke_run_never_writes_over_the_committed_figures():
    assert classroom.output_folder("smoke", classroom.COMMITTED) == classroom.REPO / "build" / "figures-smoke"
    assert classroom.output_folder("default", classroom.COMMITTED) == classroom.COMMITTED
    assert classroom.output_folder("smoke", "/tmp/elsewhere") == classroom.Path("/tmp/elsewhere")


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="profile='lecture'"):
        classroom.Lecture("lecture", tmp_path)
    with pytest.raises(ValueError, match="non-empty sentence"):
        classroom.Lecture("default", tmp_path).say("  ", "99_x")
    with pytest.raises(ValueError, match="DataFrame"):
        classroom.Lecture("default", tmp_path).table([1, 2], "99_x")
