"""Each integrity flag raised, and not raised."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from reports.integrity import SOLICITED, SOLICITED_HINTS, _stands_out, integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.launch import survey_launch
from surveys.models import AudienceKind, InvitationState, Launch, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")
SENDER_CLUSTERING = "sender_email_clustering"  # the code integrity.py derives from the field it groups by


def answer(survey, score, **extra):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN,
                                   touchpoint=extra.get("touchpoint", ""))
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, **extra)


def flags():
    return {flag.code: flag for flag in integrity_flags(nps_report(period=Q2))}


@pytest.fixture
def survey():
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="cx@example.com")


def test_a_small_sample_with_a_low_response_rate_is_flagged(survey):
    answer(survey, 9)
    for _ in range(5):
        InvitationFactory(survey=survey, sent_at=WHEN)  # delivered, silent: 1 of 6 = 17 %
    raised = flags()
    assert raised["low_response_rate"].raised and "16.7%" in raised["low_response_rate"].detail
    assert "stayed silent" in raised["low_response_rate"].detail
    assert raised["small_sample"].raised


def test_a_full_response_rate_is_not_described_with_the_low_rate_warning(survey):
    """The line is ticked: it must not also warn of customers who stayed silent (nobody did)."""
    for score in (9, 10, 3):
        answer(survey, score)
    flag = flags()["low_response_rate"]
    assert not flag.raised
    assert flag.detail == "100.0% of 3 delivered invitations were answered (threshold 20%)."


def test_a_good_response_rate_and_a_large_sample_are_not_flagged(survey):
    for n in range(100):
        answer(survey, n % 11)
    raised = flags()
    assert not raised["low_response_rate"].raised and not raised["small_sample"].raised


def test_a_touchpoint_that_clusters_at_9_and_10_is_flagged_with_a_link(survey):
    for _ in range(40):
        answer(survey, 10, touchpoint="store-12")
    for n in range(120):
        answer(survey, n % 9, touchpoint="web")  # scores 0..8: no promoters
    flag = flags()["touchpoint_clustering"]
    assert flag.raised and "store-12" in flag.links[0][0] and "touchpoint=store-12" in flag.links[0][1]


def test_touchpoints_with_similar_scores_are_not_flagged(survey):
    for n in range(80):
        answer(survey, 10 if n % 2 else 6, touchpoint="store-12" if n < 40 else "web")
    assert not flags()["touchpoint_clustering"].raised


@pytest.fixture
def sales():
    """A second relationship survey, sent from another address: another sender."""
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="sales@example.com")


def test_a_sender_that_clusters_at_9_and_10_is_flagged_and_named(survey, sales):
    for _ in range(40):
        answer(sales, 10)
    for n in range(120):
        answer(survey, n % 9)  # scores 0..8: no promoters
    flag = flags()[SENDER_CLUSTERING]
    assert flag.raised
    assert [label for label, _ in flag.links] == ["Sender sales@example.com: 100% promoters of 40"]


def scores(answers, promoters):
    """`answers` scores of which `promoters` are 10 and the others 6."""
    return [10] * promoters + [6] * (answers - promoters)


# Each threshold on its own: a sender under it is not flagged, the same sender just past it is.
@pytest.mark.parametrize(
    ("sender", "rest", "raised"),
    [
        pytest.param(scores(29, 29), scores(120, 0), False, id="29 answers: too few"),
        pytest.param(scores(30, 30), scores(120, 0), True, id="30 answers"),
        # 64 % against 45 %: a gap of 19 points, although beyond chance (z = 3.2)
        pytest.param(scores(150, 96), scores(150, 68), False, id="gap under 20 points"),
        pytest.param(scores(150, 99), scores(150, 68), True, id="gap of 21 points"),
        # 70 % against 40 %: a gap of 30 points, but within chance on 30 answers each (z = 2.3)
        pytest.param(scores(30, 21), scores(30, 12), False, id="z under 3"),
        pytest.param(scores(90, 63), scores(90, 36), True, id="same shares, z over 3"),
    ],
)
def test_a_sender_is_flagged_only_past_every_threshold(survey, sales, sender, rest, raised):
    for score in sender:
        answer(sales, score)
    for score in rest:
        answer(survey, score)
    flag = flags()[SENDER_CLUSTERING]
    assert flag.raised is raised
    assert [label.split(":")[0] for label, _ in flag.links] == (["Sender sales@example.com"] if raised else [])


@pytest.mark.parametrize(
    "text",
    [
        "The salesperson asked me to give a 10 please",
        "They told us to rate them 9 or 10",
        "On m'a demandé de mettre 10 à cette enquête",
        "Der Verkäufer hat mich gebeten, eine 10 zu geben",
        "The agent wanted me to give a 10",
        "They pushed me to rate them 10",
        "Der Verkäufer hat mich gedrängt, eine 10 zu geben",
        "Le vendeur a insisté pour me faire mettre 10",
        # Asked "for" a score, a French noun, a German verb last, a German word for the top score.
        "The salesperson asked for a 10",
        "He asked me for a 10 on this survey",
        "The agent asked me for a perfect score",
        "Le vendeur m'a demandé une note de 10",
        "On m'a demandé de donner la note maximale",
        "Der Mitarbeiter hat mich um eine 10 gebeten",
        "Ich wurde gebeten, die Höchstnote zu geben",
    ],
)
def test_verbatims_asking_for_a_high_score_are_flagged(survey, text):
    response = answer(survey, 10, reason=text)
    flag = flags()["solicited_scores"]
    assert flag.raised and flag.links[0][1].endswith(f"/{response.pk}/")


# The words that open a request in SOLICITED: the database reads only verbatims holding a hint.
OPENING_WORDS = ("ask", "asks", "asked", "asking", "told", "begged", "pushed", "reminded", "wanted", "please",
                 "demandé", "prié", "prie", "supplié", "insisté", "dit", "gebeten", "gedrängt", "aufgefordert", "bat",
                 "sagte")


@pytest.mark.parametrize("word", OPENING_WORDS)
def test_every_word_that_opens_a_request_has_a_hint_for_the_database(word):
    assert any(hint in word.lower() for hint in SOLICITED_HINTS)


def test_a_gap_of_exactly_20_points_counts():
    assert _stands_out(100, 60, 1100, 460)  # 60 % against 40 % (z = 3.9): not lost to 0.6 - 0.4 < 0.2


@pytest.mark.parametrize(
    "text",
    [
        "I asked for a refund and got it",
        "Great service, ten out of ten",
        "",
        "The price is fair",
        "I asked for a 10% discount",
        "I asked for a 10 minute call back",
        "He asked for ten minutes more",
        "They asked for the best price",
        "I asked for a top floor room",
        "On m'a demandé 10 euros de plus",
        "J'ai demandé une facture de 10 euros",
        "Ich habe um 10 Uhr um Rückruf gebeten",
        "Ich habe 10 Minuten gewartet und um einen Rückruf gebeten",
    ],
)
def test_ordinary_verbatims_are_not_flagged(text):
    assert not SOLICITED.search(text)


def test_a_report_whose_verbatims_ask_for_nothing_is_not_flagged(survey):
    # Each holds a hint word the database narrows on (ask, please, dit, bat, gebeten), none asks for a score.
    answer(survey, 10, reason="I asked for a refund and got it")
    answer(survey, 9, reason="Great service, ten out of ten", suggestion="Please keep the same team")
    answer(survey, 10, reason="On m'a dit que la livraison serait rapide, et elle l'a été")
    answer(survey, 8, reason="Ich bat um einen Rückruf und bekam ihn sofort")
    answer(survey, 7, suggestion="Ich habe um eine Rechnung gebeten, sie kam nie")
    answer(survey, 10)
    flag = flags()["solicited_scores"]
    assert not flag.raised and flag.links == []
    assert flag.detail == "No verbatim mentions being asked for a high score."


def test_verbatims_asking_for_a_high_score_in_french_and_german_are_flagged_and_linked(survey):
    answer(survey, 10, reason="Très bon accueil, merci")
    french = answer(survey, 10, suggestion="Le vendeur m'a prié de mettre 10 à l'enquête")
    german = answer(survey, 9, reason="Wir wurden aufgefordert, die Bestnote zu vergeben")
    flag = flags()["solicited_scores"]
    assert flag.raised and flag.detail.startswith("2 verbatim(s)")
    assert sorted(url for _, url in flag.links) == sorted(
        reverse("surveys:response-detail", args=[response.pk]) for response in (french, german)
    )
    assert any("prié de mettre 10" in label for label, _ in flag.links)  # the suggestion, the reason being empty


def test_a_hand_picked_launch_is_flagged(survey):
    Launch.objects.create(survey=survey, audience=AudienceKind.LIST, launched_at=WHEN, audience_size=12)
    flag = flags()["hand_picked"]
    assert flag.raised and "hand-picked list of 12" in flag.links[0][0]


def test_a_launch_by_rule_is_not_flagged(survey):
    launch = Launch.objects.create(survey=survey, audience=AudienceKind.ALL, launched_at=WHEN)
    InvitationFactory(survey=survey, launch=launch, sent_at=WHEN, created_at=WHEN)
    assert not flags()["hand_picked"].raised


def test_relationship_invitations_made_one_by_one_are_flagged_with_a_link(survey):
    launch = Launch.objects.create(survey=survey, audience=AudienceKind.ALL, launched_at=WHEN)
    InvitationFactory(survey=survey, launch=launch, sent_at=WHEN, created_at=WHEN)
    picked = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    for _ in range(3):
        InvitationFactory(survey=picked, launch=None, sent_at=WHEN, created_at=WHEN)  # no launch: added by hand
    flag = flags()["hand_picked"]
    assert flag.raised
    assert flag.links == [
        (f"{picked.name}: 3 invitation(s) made one by one", reverse("surveys:survey-detail", args=[picked.pk]))
    ]


@time_machine.travel(WHEN, tick=False)
def test_a_normal_launch_is_not_flagged_as_invitations_made_one_by_one(survey):
    CustomerFactory.create_batch(3)
    launch = survey_launch(survey=survey)
    assert launch.invitations.filter(created_at=WHEN).count() == 3  # in the period, each with its launch
    assert not flags()["hand_picked"].raised


@pytest.mark.parametrize(
    ("kind", "imported", "created_at"),
    [
        pytest.param(SurveyKind.TRANSACTIONAL, False, WHEN, id="transactional triggers"),
        pytest.param(SurveyKind.RELATIONSHIP, True, WHEN, id="imported history"),
        pytest.param(SurveyKind.RELATIONSHIP, False, WHEN, id="history imported into a survey of ours"),
        pytest.param(SurveyKind.RELATIONSHIP, False, dt.datetime(2025, 7, 15, tzinfo=dt.UTC), id="after the period"),
    ],
)
def test_invitations_without_a_launch_that_are_not_hand_picks_are_not_flagged(request, kind, imported, created_at):
    survey = SurveyFactory(kind=kind, imported=imported)
    # import_responses keys the rows it adds (to any survey, ours too) with "import:"
    reference = "import:0f3a" if "survey of ours" in request.node.callspec.id else ""
    InvitationFactory(survey=survey, launch=None, sent_at=created_at, created_at=created_at, reference=reference)
    assert not flags()["hand_picked"].raised


def test_the_flags_read_only_what_the_report_counts(survey):
    """A report on one survey and touchpoint is not flagged for another's verbatims or hand-picks."""
    other = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    answer(other, 10, reason="The agent wanted me to give a 10", touchpoint="shop")
    answer(survey, 10, reason="The agent wanted me to give a 10", touchpoint="shop")
    InvitationFactory(survey=other, launch=None, sent_at=WHEN, created_at=WHEN)  # a hand-pick, elsewhere
    answer(survey, 9, reason="Quick and kind", touchpoint="web")

    narrow = {f.code: f for f in integrity_flags(nps_report(period=Q2, survey=survey, touchpoint="web"))}
    wide = {f.code: f for f in integrity_flags(nps_report(period=Q2))}

    assert not narrow["solicited_scores"].raised and not narrow["hand_picked"].raised
    assert wide["solicited_scores"].raised and wide["hand_picked"].raised
