"""The NPS dashboard's figures, pinned: every table it shows and downloads, and the API's headline,
over a varied data set, as the dashboard computed them before its statements were merged (the
respondents derived once for the loyalty panel and the breakdowns' revenue shares, one regex for
the verbatims, one grouped ledger sum for the trend). Same expected values on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from reports.nps_dashboard import NpsParams, nps_dashboard
from reports.nps_views import TABLE_BUILDERS
from reports.periods import parse_period
from surveys.models import InvitationState, SuppressionReason
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)  # 2025's next year not over: "so far" figures

VERBATIMS = [
    ("", ""),
    ("They asked me to give a 10 on the survey.", ""),
    ("Fast delivery", "Cheaper shipping"),
    ("", "THE AGENT TOLD ME TO RATE THEM 10"),
    ("I asked for a refund, got credit", ""),  # hints (ask, dit), no request for a score
    ("On m'a demandé de mettre 10.", ""),
    ("Man hat mich gebeten, 10 Punkte zu geben", ""),
    ("Slow support", "Please give me a 10 minute call"),
    ("Sie haben mich um eine 10 gebeten", "ok"),
    ("The agent reminded us to rate them five stars", ""),
    ("Je suis prié de donner une bonne note", ""),
    ("Price too high", ""),
]


def _when(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2023, 1, 1, hour, tzinfo=dt.UTC) + dt.timedelta(days=day)


@pytest.fixture
def varied():
    """Five surveys (two anonymous, one transactional of each kind), 40 customers in four segments
    (parents, referrals, a few moved since they answered), repeat answers, ties, unanswered and
    suppressed invitations, credit notes, over 2023–2026."""
    surveys = {
        "pulse": SurveyFactory(name="Pulse"), "annual": SurveyFactory(name="Annual"),
        "secret": SurveyFactory(name="Secret", anonymous=True),
        "order": SurveyFactory(name="Order", kind="transactional"),
        "hidden order": SurveyFactory(name="Hidden order", kind="transactional", anonymous=True),
    }
    segments = ["SMB", "Mid-market", "Enterprise", ""]
    parents = [CustomerFactory(segment="Enterprise", external_id=f"P{n}") for n in range(3)]
    customers = []
    for n in range(40):
        customers.append(CustomerFactory(
            external_id=f"E{n:03d}", segment=segments[n % 4], parent=parents[n % 3] if n % 7 == 0 else None,
            referred_by=customers[n % 5] if n >= 10 and n % 3 == 0 else None,
            acquired_on=dt.date(2024 + n // 3 % 3, 1 + n % 12, 1),
        ))
    for n, customer in enumerate(customers + parents):
        for k in range(n % 5):
            pay(customer, str(dt.date(2023, 1, 1) + dt.timedelta(days=(n * 37 + k * 211) % 1400)),
                f"{(n * 13 + k * 7) % 90 + 10}.{n % 100:02d}")
        if n % 9 == 4:
            pay(customer, "2025-05-05", "-35.50")  # a credit note
    pay(customers[3], "2025-02-02", "-300.00")  # a net negative customer
    pay(customers[5], "2023-02-02", "-5000.00")  # and a year with no share: net negative
    names = list(surveys)
    touchpoints = ["web", "phone", "", "store"]
    for i in range(260):
        customer = customers[(i * 7) % 40]
        survey = surveys[names[(i * 3 + i // 40) % 5]]
        day = (i * 53) % 1270
        when = _when(day, hour=10 if i % 11 else 9)
        reason, suggestion = VERBATIMS[i % len(VERBATIMS)]
        state = InvitationState.RESPONDED if i % 6 else [InvitationState.SENT, InvitationState.BOUNCED,
                                                         InvitationState.SUPPRESSED][i % 3]
        invitation = InvitationFactory(
            survey=survey, customer=customer, state=state, sent_at=when, touchpoint=touchpoints[i % 4],
            suppression_reason=SuppressionReason.THROTTLED if state == InvitationState.SUPPRESSED else "",
        )
        if state == InvitationState.RESPONDED:
            ResponseFactory(invitation=invitation, score=(i * 5 + 3) % 11, answered_at=when + dt.timedelta(hours=1),
                            touchpoint=invitation.touchpoint, reason=reason, suggestion=suggestion)
        if i % 13 == 0:  # the same customer's second answer at the same instant: ties broken by id
            again = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED,
                                      sent_at=when, touchpoint="web")
            ResponseFactory(invitation=again, score=(i + 4) % 11, answered_at=when + dt.timedelta(hours=1))
    for n in range(0, 40, 6):  # moved to another segment since they answered
        customers[n].segment = segments[(n + 1) % 4]
        customers[n].save(update_fields=["segment"])
    return surveys


SCOPE = ("survey_type", "counting", "segment", "touchpoint", "survey")


def _cell(value) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return "" if value is None else str(value)


def snapshot(params: NpsParams) -> dict[str, list[str]]:
    """Every table of the page as its CSV gives it (less the constant scope columns), each row one
    line, and every integrity flag with its detail and the labels of its links."""
    dashboard = nps_dashboard(params)
    tables = {}
    for name, build in TABLE_BUILDERS.items():
        header, rows = build(dashboard)
        keep = [i for i, column in enumerate(header) if column not in SCOPE or i == 0]
        lines = [" ".join(_cell(row[i]) for i in keep) for row in rows]
        tables[name] = sorted(lines) if name in ("segments", "touchpoints", "surveys") else lines  # ties: any order
    flags = [f"{flag.code} {flag.raised} {flag.detail} " + " | ".join(label for label, _ in flag.links)
             for flag in dashboard.flags]
    tables["flags"] = flags
    return tables


def _params(surveys, period, **extra):
    survey = surveys.get(extra.pop("survey", None))
    kind = survey.kind if survey else extra.pop("survey_type", "relationship")
    return NpsParams(period=parse_period(period), survey_type=kind, survey=survey, **extra)


SCOPES = {
    "year": ("2025", {}),
    "year latest": ("2025", {"counting": "latest"}),
    "quarter SMB latest": ("2025-Q2", {"segment": "SMB", "counting": "latest"}),
    "year web": ("2025", {"touchpoint": "web"}),
    "year pulse latest": ("2025", {"survey": "pulse", "counting": "latest"}),
    "year secret": ("2025", {"survey": "secret"}),
    "year transactional latest": ("2025", {"survey_type": "transactional", "counting": "latest"}),
    "month": ("2025-05", {}),
    "2024 Enterprise": ("2024", {"segment": "Enterprise"}),
}


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("scope", SCOPES)
def test_every_figure_of_the_dashboard_is_as_before(varied, scope):
    """The merged statements give the figures the separate ones gave, table by table."""
    period, extra = SCOPES[scope]
    assert snapshot(_params(varied, period, **extra)) == EXPECTED[scope]


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("query", ["period=2025", "period=2025&counting=latest", "period=2025-Q2&segment=SMB"])
def test_the_api_headline_is_as_before(varied, api_client_as, query):
    """The API shares the engine: its headline is pinned too."""
    data = api_client_as("viewer").get(f"/api/reports/nps/?{query}&format=json").json()
    assert {key: value for key, value in data.items() if key != "survey"} == API[query]


# Computed by the dashboard's code before the change (commit of this test), identical on SQLite and
# PostgreSQL: a table row per line, its cells in the CSV's order.
EXPECTED = {'year': {'trend': ['2023 37 5 7 25 -54.0541 23.2051 -72.7204 -27.2796 50 0 0 0 0 0 50 0 0 37 0.74 ',
                    '2024 42 9 7 26 -40.4762 24.7461 -61.665 -13.8905 48 0 0 0 0 0 48 0 0 42 0.875 0.7394',
                    '2025 44 9 9 26 -38.6364 23.7523 -59.1447 -13.1958 52 0 0 0 0 0 52 0 0 44 0.8462 0.8849'],
          'sample': ['2025 44 9 9 26 -38.6364 23.7523 -59.1447 -13.1958 52 0 0 0 0 0 52 0 0 44 0.8462 0.8849'],
          'distribution': ['0 4', '1 5', '2 3', '3 5', '4 3', '5 4', '6 2', '7 6', '8 3', '9 4', '10 5'],
          'segments': [' 7 1 1 5 -57.1429 53.963 -87.6082 7.6082 7 0 0 0 0 0 7 0 0 7 1 ',
                       'Enterprise 10 2 2 6 -40 49.5845 -74.1248 12.5864 18 0 0 0 0 0 18 0 0 10 0.5556 0.6167',
                       'Mid-market 17 4 4 9 -29.4118 39.1481 -60.6725 10.6725 17 0 0 0 0 0 17 0 0 17 1 0.7802',
                       'SMB 10 2 2 6 -40 49.5845 -74.1248 12.5864 10 0 0 0 0 0 10 0 0 10 1 1'],
          'touchpoints': [' 13 3 3 7 -30.7692 44.6471 -64.6945 14.6945 16 0 0 0 0 0 16 0 0 8 0.5 0.3197',
                          'phone 6 1 1 4 -50 61.1137 -84.4067 17.7401 6 0 0 0 0 0 6 0 0 6 1 ',
                          'store 15 3 3 9 -40 40.4856 -70.2594 3.5927 15 0 0 0 0 0 15 0 0 15 1 0.397',
                          'web 10 2 2 6 -40 49.5845 -74.1248 12.5864 15 0 0 0 0 0 15 0 0 15 1 0.2442'],
          'surveys': ['Annual 13 3 3 7 -30.7692 44.6471 -64.6945 14.6945 13 0 0 0 0 0 13 0 0 13 1 0.4019',
                      'Pulse 18 4 3 11 -38.8889 38.1543 -68.4627 1.7961 21 0 0 0 0 0 21 0 0 18 0.8571 0.483',
                      'Secret 13 2 3 8 -46.1538 40.542 -74.7569 -0.2431 18 0 0 0 0 0 18 0 0 13 0.7222 '],
          'verbatims': ['2025-12-12T11:00:00+00:00 7 passive Sie haben mich um eine 10 gebeten ok',
                        '2025-12-08T11:00:00+00:00 9 promoter Sie haben mich um eine 10 gebeten ok',
                        '2025-12-04T11:00:00+00:00 0 detractor Sie haben mich um eine 10 gebeten ok',
                        '2025-11-30T11:00:00+00:00 2 detractor Sie haben mich um eine 10 gebeten ok',
                        '2025-11-26T11:00:00+00:00 4 detractor Sie haben mich um eine 10 gebeten ok',
                        '2025-10-22T11:00:00+00:00 1 detractor Slow support Please give me a 10 minute call',
                        '2025-10-18T10:00:00+00:00 3 detractor Slow support Please give me a 10 minute call',
                        '2025-10-14T11:00:00+00:00 5 detractor Slow support Please give me a 10 minute call',
                        '2025-10-12T11:00:00+00:00 6 detractor Slow support Please give me a 10 minute call',
                        '2025-10-10T11:00:00+00:00 7 passive Slow support Please give me a 10 minute call'],
          'integrity': ['Response rate under 20 % False 84.6% of 52 delivered invitations were answered (threshold '
                        '20%). Surveys and their progress',
                        'Fewer than 100 responses True 44 responses (threshold 100): the margin of error is ±23.8 '
                        'points. ',
                        'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the rest. ',
                        'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                        'Verbatims mention being asked for a high score True 18 verbatim(s) say the customer was '
                        'asked for a high score. Score 7: “Sie haben mich um eine 10 gebeten” | Score 9: “Sie '
                        'haben mich um eine 10 gebeten” | Score 0: “Sie haben mich um eine 10 gebeten” | Score 2: '
                        '“Sie haben mich um eine 10 gebeten” | Score 4: “Sie haben mich um eine 10 gebeten” | '
                        "Score 1: “On m'a demandé de mettre 10.” | Score 3: “On m'a demandé de mettre 10.” | Score "
                        "5: “On m'a demandé de mettre 10.” | Score 7: “On m'a demandé de mettre 10.” | Score 9: "
                        "“On m'a demandé de mettre 10.” | Score 0: “On m'a demandé de mettre 10.” | Score 2: “THE "
                        'AGENT TOLD ME TO RATE THEM 10” | Score 4: “THE AGENT TOLD ME TO RATE THEM 10” | Score 6: '
                        '“THE AGENT TOLD ME TO RATE THEM 10” | Score 8: “THE AGENT TOLD ME TO RATE THEM 10” | '
                        'Score 10: “THE AGENT TOLD ME TO RATE THEM 10” | Score 0: “THE AGENT TOLD ME TO RATE THEM '
                        '10” | Score 1: “THE AGENT TOLD ME TO RATE THEM 10”',
                        'Hand-picked audience False Every invitation went to an audience chosen by a rule. '],
          'loyalty': ['promoter 6 27.49 113.62 4.1331 1 13.21 1 13.21 False',
                      'passive 5 122.45 220.16 1.798 2 105.71 2 177.72 False',
                      'detractor 16 263.46 281.62 1.0689 2 258.54 3 0 False'],
          'flags': ['low_response_rate False 84.6% of 52 delivered invitations were answered (threshold 20%). '
                    'Surveys and their progress',
                    'small_sample True 44 responses (threshold 100): the margin of error is ±23.8 points. ',
                    'touchpoint_clustering False No touchpoint stands out from the rest. ',
                    'sender_email_clustering False No sender stands out from the rest. ',
                    'solicited_scores True 18 verbatim(s) say the customer was asked for a high score. Score 7: '
                    '“Sie haben mich um eine 10 gebeten” | Score 9: “Sie haben mich um eine 10 gebeten” | Score 0: '
                    '“Sie haben mich um eine 10 gebeten” | Score 2: “Sie haben mich um eine 10 gebeten” | Score 4: '
                    "“Sie haben mich um eine 10 gebeten” | Score 1: “On m'a demandé de mettre 10.” | Score 3: “On "
                    "m'a demandé de mettre 10.” | Score 5: “On m'a demandé de mettre 10.” | Score 7: “On m'a "
                    "demandé de mettre 10.” | Score 9: “On m'a demandé de mettre 10.” | Score 0: “On m'a demandé "
                    'de mettre 10.” | Score 2: “THE AGENT TOLD ME TO RATE THEM 10” | Score 4: “THE AGENT TOLD ME '
                    'TO RATE THEM 10” | Score 6: “THE AGENT TOLD ME TO RATE THEM 10” | Score 8: “THE AGENT TOLD ME '
                    'TO RATE THEM 10” | Score 10: “THE AGENT TOLD ME TO RATE THEM 10” | Score 0: “THE AGENT TOLD '
                    'ME TO RATE THEM 10” | Score 1: “THE AGENT TOLD ME TO RATE THEM 10”',
                    'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 'year latest': {'trend': ['2023 34 4 7 23 -55.8824 23.3327 -74.2852 -28.4175 50 0 0 0 0 0 50 0 0 37 0.74 ',
                           '2024 40 8 7 25 -42.5 24.8769 -63.5589 -15.5108 48 0 0 0 0 0 48 0 0 42 0.875 0.7394',
                           '2025 39 8 8 23 -38.4615 25.2439 -60.0271 -11.4015 52 0 0 0 0 0 52 0 0 44 0.8462 '
                           '0.8849'],
                 'sample': ['2025 39 8 8 23 -38.4615 25.2439 -60.0271 -11.4015 52 0 0 0 0 0 52 0 0 44 0.8462 '
                            '0.8849'],
                 'distribution': ['0 2', '1 4', '2 3', '3 5', '4 3', '5 4', '6 2', '7 5', '8 3', '9 3', '10 5'],
                 'segments': [' 6 0 1 5 -83.3333 29.8205 -97.5716 -13.5396 7 0 0 0 0 0 7 0 0 7 1 ',
                              'Enterprise 9 2 2 5 -33.3333 53.3444 -70.4701 20.4701 18 0 0 0 0 0 18 0 0 10 0.5556 '
                              '0.6167',
                              'Mid-market 14 4 3 7 -21.4286 45.0555 -57.5371 22.243 17 0 0 0 0 0 17 0 0 17 1 '
                              '0.7802',
                              'SMB 10 2 2 6 -40 49.5845 -74.1248 12.5864 10 0 0 0 0 0 10 0 0 10 1 1'],
                 'touchpoints': [' 12 3 3 6 -25 46.9139 -61.1133 21.1133 16 0 0 0 0 0 16 0 0 8 0.5 0.3197',
                                 'phone 5 0 1 4 -80 35.0615 -95.8353 -4.1647 6 0 0 0 0 0 6 0 0 6 1 ',
                                 'store 12 3 2 7 -33.3333 48.084 -68.8729 15.5395 15 0 0 0 0 0 15 0 0 15 1 0.397',
                                 'web 10 2 2 6 -40 49.5845 -74.1248 12.5864 15 0 0 0 0 0 15 0 0 15 1 0.2442'],
                 'surveys': ['Annual 12 2 3 7 -41.6667 42.9559 -72.1687 5.502 13 0 0 0 0 0 13 0 0 13 1 0.4019',
                             'Pulse 16 4 2 10 -37.5 41.9909 -69.6291 6.4712 21 0 0 0 0 0 21 0 0 18 0.8571 0.483',
                             'Secret 12 2 3 7 -41.6667 42.9559 -72.1687 5.502 18 0 0 0 0 0 18 0 0 13 0.7222 '],
                 'verbatims': ['2025-12-12T11:00:00+00:00 7 passive Sie haben mich um eine 10 gebeten ok',
                               '2025-12-08T11:00:00+00:00 9 promoter Sie haben mich um eine 10 gebeten ok',
                               '2025-12-04T11:00:00+00:00 0 detractor Sie haben mich um eine 10 gebeten ok',
                               '2025-11-30T11:00:00+00:00 2 detractor Sie haben mich um eine 10 gebeten ok',
                               '2025-11-26T11:00:00+00:00 4 detractor Sie haben mich um eine 10 gebeten ok',
                               '2025-10-22T11:00:00+00:00 1 detractor Slow support Please give me a 10 minute call',
                               '2025-10-18T10:00:00+00:00 3 detractor Slow support Please give me a 10 minute call',
                               '2025-10-14T11:00:00+00:00 5 detractor Slow support Please give me a 10 minute call',
                               '2025-10-12T11:00:00+00:00 6 detractor Slow support Please give me a 10 minute call',
                               '2025-10-08T11:00:00+00:00 8 passive Slow support Please give me a 10 minute call'],
                 'integrity': ['Response rate under 20 % False 84.6% of 52 delivered invitations were answered '
                               '(threshold 20%). Surveys and their progress',
                               'Fewer than 100 responses True 39 responses (threshold 100): the margin of error is '
                               '±25.2 points. ',
                               'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the rest. ',
                               'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                               'Verbatims mention being asked for a high score True 15 verbatim(s) say the '
                               'customer was asked for a high score. Score 7: “Sie haben mich um eine 10 gebeten” '
                               '| Score 9: “Sie haben mich um eine 10 gebeten” | Score 0: “Sie haben mich um eine '
                               '10 gebeten” | Score 2: “Sie haben mich um eine 10 gebeten” | Score 4: “Sie haben '
                               "mich um eine 10 gebeten” | Score 1: “On m'a demandé de mettre 10.” | Score 3: “On "
                               "m'a demandé de mettre 10.” | Score 5: “On m'a demandé de mettre 10.” | Score 7: "
                               "“On m'a demandé de mettre 10.” | Score 0: “On m'a demandé de mettre 10.” | Score "
                               '2: “THE AGENT TOLD ME TO RATE THEM 10” | Score 4: “THE AGENT TOLD ME TO RATE THEM '
                               '10” | Score 6: “THE AGENT TOLD ME TO RATE THEM 10” | Score 8: “THE AGENT TOLD ME '
                               'TO RATE THEM 10” | Score 10: “THE AGENT TOLD ME TO RATE THEM 10”',
                               'Hand-picked audience False Every invitation went to an audience chosen by a '
                               'rule. '],
                 'loyalty': ['promoter 6 27.49 113.62 4.1331 1 13.21 1 13.21 False',
                             'passive 5 122.45 220.16 1.798 2 105.71 2 177.72 False',
                             'detractor 16 263.46 281.62 1.0689 2 258.54 3 0 False'],
                 'flags': ['low_response_rate False 84.6% of 52 delivered invitations were answered (threshold '
                           '20%). Surveys and their progress',
                           'small_sample True 39 responses (threshold 100): the margin of error is ±25.2 points. ',
                           'touchpoint_clustering False No touchpoint stands out from the rest. ',
                           'sender_email_clustering False No sender stands out from the rest. ',
                           'solicited_scores True 15 verbatim(s) say the customer was asked for a high score. '
                           'Score 7: “Sie haben mich um eine 10 gebeten” | Score 9: “Sie haben mich um eine 10 '
                           'gebeten” | Score 0: “Sie haben mich um eine 10 gebeten” | Score 2: “Sie haben mich um '
                           "eine 10 gebeten” | Score 4: “Sie haben mich um eine 10 gebeten” | Score 1: “On m'a "
                           "demandé de mettre 10.” | Score 3: “On m'a demandé de mettre 10.” | Score 5: “On m'a "
                           "demandé de mettre 10.” | Score 7: “On m'a demandé de mettre 10.” | Score 0: “On m'a "
                           'demandé de mettre 10.” | Score 2: “THE AGENT TOLD ME TO RATE THEM 10” | Score 4: “THE '
                           'AGENT TOLD ME TO RATE THEM 10” | Score 6: “THE AGENT TOLD ME TO RATE THEM 10” | Score '
                           '8: “THE AGENT TOLD ME TO RATE THEM 10” | Score 10: “THE AGENT TOLD ME TO RATE THEM 10”',
                           'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 'quarter SMB latest': {'trend': ['2023-Q3 8 0 2 6 -75 30.0062 -91.1802 -17.9107 9 0 0 0 0 0 9 0 0 9 1 ',
                                  '2023-Q4 0 0 0 0     0 0 0 0 0 0 0 0 0 0  ',
                                  '2024-Q1 7 1 1 5 -57.1429 53.963 -87.6082 7.6082 7 0 0 0 0 0 7 0 0 7 1 ',
                                  '2024-Q2 0 0 0 0     0 0 0 0 0 0 0 0 0 0  ',
                                  '2024-Q3 0 0 0 0     1 0 0 0 0 0 1 0 0 0 0 ',
                                  '2024-Q4 1 0 0 1 -100 0 -98.5 48.5 6 0 0 0 0 0 6 0 0 1 0.1667 0.6858',
                                  '2025-Q1 0 0 0 0     0 0 0 0 0 0 0 0 0 0  ',
                                  '2025-Q2 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 '],
                        'sample': ['2025-Q2 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 '],
                        'distribution': ['0 0',
                                         '1 1',
                                         '2 0',
                                         '3 1',
                                         '4 0',
                                         '5 1',
                                         '6 0',
                                         '7 0',
                                         '8 1',
                                         '9 0',
                                         '10 1'],
                        'segments': ['SMB 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 '],
                        'touchpoints': ['web 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 '],
                        'surveys': ['Annual 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 '],
                        'verbatims': ['2025-05-16T11:00:00+00:00 8 passive I asked for a refund, got credit ',
                                      '2025-05-12T11:00:00+00:00 10 promoter I asked for a refund, got credit ',
                                      '2025-05-08T11:00:00+00:00 1 detractor I asked for a refund, got credit ',
                                      '2025-05-04T10:00:00+00:00 3 detractor I asked for a refund, got credit ',
                                      '2025-04-30T11:00:00+00:00 5 detractor I asked for a refund, got credit '],
                        'integrity': ['Response rate under 20 % False 100.0% of 5 delivered invitations were '
                                      'answered (threshold 20%). Surveys and their progress',
                                      'Fewer than 100 responses True 5 responses (threshold 100): too few for a '
                                      'meaningful margin of error (it takes at least 30); the figure may move a '
                                      'long way with the next answers. ',
                                      'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the '
                                      'rest. ',
                                      'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                                      'Verbatims mention being asked for a high score False No verbatim mentions '
                                      'being asked for a high score. ',
                                      'Hand-picked audience False Every invitation went to an audience chosen by a '
                                      'rule. '],
                        'loyalty': ['promoter 1 0 0  0 0 0 0 True',
                                    'passive 1 52.24 0 0 1 52.24 0 0 True',
                                    'detractor 3 0 0  0 0 1 0 True'],
                        'flags': ['low_response_rate False 100.0% of 5 delivered invitations were answered '
                                  '(threshold 20%). Surveys and their progress',
                                  'small_sample True 5 responses (threshold 100): too few for a meaningful margin '
                                  'of error (it takes at least 30); the figure may move a long way with the next '
                                  'answers. ',
                                  'touchpoint_clustering False No touchpoint stands out from the rest. ',
                                  'sender_email_clustering False No sender stands out from the rest. ',
                                  'solicited_scores False No verbatim mentions being asked for a high score. ',
                                  'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 'year web': {'trend': ['2023 8 1 2 5 -50 49 -80.1741 7.4468 20 0 0 0 0 0 20 0 0 12 0.6 ',
                        '2024 7 1 1 5 -57.1429 53.963 -87.6082 7.6082 15 0 0 0 0 0 15 0 0 9 0.6 0.0312',
                        '2025 10 2 2 6 -40 49.5845 -74.1248 12.5864 15 0 0 0 0 0 15 0 0 15 1 0.2442'],
              'sample': ['2025 10 2 2 6 -40 49.5845 -74.1248 12.5864 15 0 0 0 0 0 15 0 0 15 1 0.2442'],
              'distribution': ['0 1', '1 1', '2 1', '3 1', '4 1', '5 1', '6 0', '7 1', '8 1', '9 1', '10 1'],
              'segments': [' 0 0 0 0     1 0 0 0 0 0 1 0 0 1 1 ',
                           'Enterprise 0 0 0 0     2 0 0 0 0 0 2 0 0 2 1 ',
                           'Mid-market 0 0 0 0     2 0 0 0 0 0 2 0 0 2 1 ',
                           'SMB 10 2 2 6 -40 49.5845 -74.1248 12.5864 10 0 0 0 0 0 10 0 0 10 1 1'],
              'touchpoints': ['web 10 2 2 6 -40 49.5845 -74.1248 12.5864 15 0 0 0 0 0 15 0 0 15 1 0.2442'],
              'surveys': ['Annual 7 2 2 3 -14.2857 61.709 -59.5845 39.5845 8 0 0 0 0 0 8 0 0 8 1 0.2442',
                          'Pulse 3 0 0 3 -100 0 -100 6.5803 5 0 0 0 0 0 5 0 0 5 1 0',
                          'Secret 0 0 0 0     2 0 0 0 0 0 2 0 0 2 1 '],
              'verbatims': ['2025-12-12T11:00:00+00:00 7 passive Sie haben mich um eine 10 gebeten ok',
                            '2025-12-08T11:00:00+00:00 9 promoter Sie haben mich um eine 10 gebeten ok',
                            '2025-12-04T11:00:00+00:00 0 detractor Sie haben mich um eine 10 gebeten ok',
                            '2025-11-30T11:00:00+00:00 2 detractor Sie haben mich um eine 10 gebeten ok',
                            '2025-11-26T11:00:00+00:00 4 detractor Sie haben mich um eine 10 gebeten ok',
                            '2025-05-16T11:00:00+00:00 8 passive I asked for a refund, got credit ',
                            '2025-05-12T11:00:00+00:00 10 promoter I asked for a refund, got credit ',
                            '2025-05-08T11:00:00+00:00 1 detractor I asked for a refund, got credit ',
                            '2025-05-04T10:00:00+00:00 3 detractor I asked for a refund, got credit ',
                            '2025-04-30T11:00:00+00:00 5 detractor I asked for a refund, got credit '],
              'integrity': ['Response rate under 20 % False 100.0% of 15 delivered invitations were answered '
                            '(threshold 20%). Surveys and their progress',
                            'Fewer than 100 responses True 10 responses (threshold 100): too few for a meaningful '
                            'margin of error (it takes at least 30); the figure may move a long way with the next '
                            'answers. ',
                            'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the rest. ',
                            'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                            'Verbatims mention being asked for a high score True 5 verbatim(s) say the customer '
                            'was asked for a high score. Score 7: “Sie haben mich um eine 10 gebeten” | Score 9: '
                            '“Sie haben mich um eine 10 gebeten” | Score 0: “Sie haben mich um eine 10 gebeten” | '
                            'Score 2: “Sie haben mich um eine 10 gebeten” | Score 4: “Sie haben mich um eine 10 '
                            'gebeten”',
                            'Hand-picked audience False Every invitation went to an audience chosen by a rule. '],
              'loyalty': [],
              'flags': ['low_response_rate False 100.0% of 15 delivered invitations were answered (threshold 20%). '
                        'Surveys and their progress',
                        'small_sample True 10 responses (threshold 100): too few for a meaningful margin of error '
                        '(it takes at least 30); the figure may move a long way with the next answers. ',
                        'touchpoint_clustering False No touchpoint stands out from the rest. ',
                        'sender_email_clustering False No sender stands out from the rest. ',
                        'solicited_scores True 5 verbatim(s) say the customer was asked for a high score. Score 7: '
                        '“Sie haben mich um eine 10 gebeten” | Score 9: “Sie haben mich um eine 10 gebeten” | '
                        'Score 0: “Sie haben mich um eine 10 gebeten” | Score 2: “Sie haben mich um eine 10 '
                        'gebeten” | Score 4: “Sie haben mich um eine 10 gebeten”',
                        'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 'year pulse latest': {'trend': ['2023 13 1 3 9 -61.5385 33.9714 -83.548 -16.452 20 0 0 0 0 0 20 0 0 13 0.65 ',
                                 '2024 13 2 2 9 -53.8462 40.542 -81.3826 -6.1174 13 0 0 0 0 0 13 0 0 13 1 0.2919',
                                 '2025 16 4 2 10 -37.5 41.9909 -69.6291 6.4712 21 0 0 0 0 0 21 0 0 18 0.8571 '
                                 '0.483'],
                       'sample': ['2025 16 4 2 10 -37.5 41.9909 -69.6291 6.4712 21 0 0 0 0 0 21 0 0 18 0.8571 '
                                  '0.483'],
                       'distribution': ['0 1',
                                        '1 2',
                                        '2 2',
                                        '3 1',
                                        '4 2',
                                        '5 1',
                                        '6 1',
                                        '7 1',
                                        '8 1',
                                        '9 2',
                                        '10 2'],
                       'segments': ['Enterprise 4 2 0 2 0 98 -65.6658 65.6658 8 0 0 0 0 0 8 0 0 5 0.625 0.6167',
                                    'Mid-market 9 2 2 5 -33.3333 53.3444 -70.4701 20.4701 10 0 0 0 0 0 10 0 0 10 1 '
                                    '0.321',
                                    'SMB 3 0 0 3 -100 0 -100 6.5803 3 0 0 0 0 0 3 0 0 3 1 0'],
                       'touchpoints': [' 5 2 1 2 0 78.4 -57.4576 57.4576 7 0 0 0 0 0 7 0 0 4 0.5714 0.3197',
                                       'store 8 2 1 5 -37.5 59.3841 -76.6578 22.1123 9 0 0 0 0 0 9 0 0 9 1 0.1633',
                                       'web 3 0 0 3 -100 0 -100 6.5803 5 0 0 0 0 0 5 0 0 5 1 0'],
                       'surveys': ['Pulse 16 4 2 10 -37.5 41.9909 -69.6291 6.4712 21 0 0 0 0 0 21 0 0 18 0.8571 '
                                   '0.483'],
                       'verbatims': ['2025-12-04T11:00:00+00:00 0 detractor Sie haben mich um eine 10 gebeten ok',
                                     '2025-11-30T11:00:00+00:00 2 detractor Sie haben mich um eine 10 gebeten ok',
                                     '2025-11-26T11:00:00+00:00 4 detractor Sie haben mich um eine 10 gebeten ok',
                                     '2025-10-22T11:00:00+00:00 1 detractor Slow support Please give me a 10 '
                                     'minute call',
                                     '2025-10-18T10:00:00+00:00 3 detractor Slow support Please give me a 10 '
                                     'minute call',
                                     '2025-10-14T11:00:00+00:00 5 detractor Slow support Please give me a 10 '
                                     'minute call',
                                     '2025-10-06T11:00:00+00:00 9 promoter Slow support Please give me a 10 minute '
                                     'call',
                                     '2025-03-18T11:00:00+00:00 6 detractor  THE AGENT TOLD ME TO RATE THEM 10',
                                     '2025-03-14T11:00:00+00:00 8 passive  THE AGENT TOLD ME TO RATE THEM 10',
                                     '2025-03-10T11:00:00+00:00 10 promoter  THE AGENT TOLD ME TO RATE THEM 10'],
                       'integrity': ['Response rate under 20 % False 85.7% of 21 delivered invitations were '
                                     'answered (threshold 20%). Surveys and their progress',
                                     'Fewer than 100 responses True 16 responses (threshold 100): too few for a '
                                     'meaningful margin of error (it takes at least 30); the figure may move a '
                                     'long way with the next answers. ',
                                     'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the '
                                     'rest. ',
                                     'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                                     'Verbatims mention being asked for a high score True 7 verbatim(s) say the '
                                     'customer was asked for a high score. Score 0: “Sie haben mich um eine 10 '
                                     'gebeten” | Score 2: “Sie haben mich um eine 10 gebeten” | Score 4: “Sie '
                                     'haben mich um eine 10 gebeten” | Score 6: “THE AGENT TOLD ME TO RATE THEM '
                                     '10” | Score 8: “THE AGENT TOLD ME TO RATE THEM 10” | Score 10: “THE AGENT '
                                     'TOLD ME TO RATE THEM 10” | Score 1: “THE AGENT TOLD ME TO RATE THEM 10”',
                                     'Hand-picked audience False Every invitation went to an audience chosen by a '
                                     'rule. '],
                       'loyalty': ['promoter 4 13.21 92.34 6.9902 1 13.21 1 13.21 False',
                                   'passive 2 58.17 41.37 0.7112 1 58.17 0 0 False',
                                   'detractor 10 154.28 141.98 0.9203 1 149.36 1 0 False'],
                       'flags': ['low_response_rate False 85.7% of 21 delivered invitations were answered '
                                 '(threshold 20%). Surveys and their progress',
                                 'small_sample True 16 responses (threshold 100): too few for a meaningful margin '
                                 'of error (it takes at least 30); the figure may move a long way with the next '
                                 'answers. ',
                                 'touchpoint_clustering False No touchpoint stands out from the rest. ',
                                 'sender_email_clustering False No sender stands out from the rest. ',
                                 'solicited_scores True 7 verbatim(s) say the customer was asked for a high score. '
                                 'Score 0: “Sie haben mich um eine 10 gebeten” | Score 2: “Sie haben mich um eine '
                                 '10 gebeten” | Score 4: “Sie haben mich um eine 10 gebeten” | Score 6: “THE AGENT '
                                 'TOLD ME TO RATE THEM 10” | Score 8: “THE AGENT TOLD ME TO RATE THEM 10” | Score '
                                 '10: “THE AGENT TOLD ME TO RATE THEM 10” | Score 1: “THE AGENT TOLD ME TO RATE '
                                 'THEM 10”',
                                 'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 'year secret': {'trend': ['2023 12 2 1 9 -58.3333 42.9559 -86.3716 -6.9618 14 0 0 0 0 0 14 0 0 12 0.8571 ',
                           '2024 15 3 3 9 -40 40.4856 -70.2594 3.5927 17 0 0 0 0 0 17 0 0 15 0.8824 ',
                           '2025 13 2 3 8 -46.1538 40.542 -74.7569 -0.2431 18 0 0 0 0 0 18 0 0 13 0.7222 '],
                 'sample': ['2025 13 2 3 8 -46.1538 40.542 -74.7569 -0.2431 18 0 0 0 0 0 18 0 0 13 0.7222 '],
                 'distribution': ['0 1', '1 2', '2 0', '3 2', '4 0', '5 2', '6 1', '7 2', '8 1', '9 0', '10 2'],
                 'segments': [' 3 0 0 3 -100 0 -100 6.5803 3 0 0 0 0 0 3 0 0 3 1 ',
                              'Enterprise 5 0 2 3 -60 42.9414 -82.5094 7.5094 10 0 0 0 0 0 10 0 0 5 0.5 ',
                              'Mid-market 5 2 1 2 0 78.4 -57.4576 57.4576 5 0 0 0 0 0 5 0 0 5 1 '],
                 'touchpoints': [' 6 1 2 3 -33.3333 59.6409 -71.1886 26.7442 9 0 0 0 0 0 9 0 0 4 0.4444 ',
                                 'phone 3 0 0 3 -100 0 -100 6.5803 3 0 0 0 0 0 3 0 0 3 1 ',
                                 'store 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 ',
                                 'web 0 0 0 0     2 0 0 0 0 0 2 0 0 2 1 '],
                 'surveys': ['Secret 13 2 3 8 -46.1538 40.542 -74.7569 -0.2431 18 0 0 0 0 0 18 0 0 13 0.7222 '],
                 'verbatims': ['2025-10-12T11:00:00+00:00 6 detractor Slow support Please give me a 10 minute call',
                               '2025-10-08T11:00:00+00:00 8 passive Slow support Please give me a 10 minute call',
                               '2025-10-04T11:00:00+00:00 10 promoter Slow support Please give me a 10 minute call',
                               "2025-07-10T11:00:00+00:00 1 detractor On m'a demandé de mettre 10. ",
                               "2025-07-06T10:00:00+00:00 3 detractor On m'a demandé de mettre 10. ",
                               "2025-07-02T11:00:00+00:00 5 detractor On m'a demandé de mettre 10. ",
                               '2025-03-08T11:00:00+00:00 0 detractor  THE AGENT TOLD ME TO RATE THEM 10',
                               '2025-01-24T11:00:00+00:00 1 detractor Fast delivery Cheaper shipping',
                               '2025-01-20T10:00:00+00:00 3 detractor Fast delivery Cheaper shipping',
                               '2025-01-16T11:00:00+00:00 5 detractor Fast delivery Cheaper shipping'],
                 'integrity': ['Response rate under 20 % False 72.2% of 18 delivered invitations were answered '
                               '(threshold 20%). Surveys and their progress',
                               'Fewer than 100 responses True 13 responses (threshold 100): too few for a '
                               'meaningful margin of error (it takes at least 30); the figure may move a long way '
                               'with the next answers. ',
                               'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the rest. ',
                               'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                               'Verbatims mention being asked for a high score True 4 verbatim(s) say the customer '
                               "was asked for a high score. Score 1: “On m'a demandé de mettre 10.” | Score 3: “On "
                               "m'a demandé de mettre 10.” | Score 5: “On m'a demandé de mettre 10.” | Score 0: "
                               '“THE AGENT TOLD ME TO RATE THEM 10”',
                               'Hand-picked audience False Every invitation went to an audience chosen by a '
                               'rule. '],
                 'loyalty': ['promoter 0 0 0  0 0 0 0 False',
                             'passive 0 0 0  0 0 0 0 False',
                             'detractor 0 0 0  0 0 0 0 False'],
                 'flags': ['low_response_rate False 72.2% of 18 delivered invitations were answered (threshold '
                           '20%). Surveys and their progress',
                           'small_sample True 13 responses (threshold 100): too few for a meaningful margin of '
                           'error (it takes at least 30); the figure may move a long way with the next answers. ',
                           'touchpoint_clustering False No touchpoint stands out from the rest. ',
                           'sender_email_clustering False No sender stands out from the rest. ',
                           'solicited_scores True 4 verbatim(s) say the customer was asked for a high score. Score '
                           "1: “On m'a demandé de mettre 10.” | Score 3: “On m'a demandé de mettre 10.” | Score 5: "
                           "“On m'a demandé de mettre 10.” | Score 0: “THE AGENT TOLD ME TO RATE THEM 10”",
                           'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 'year transactional latest': {'trend': ['2023 22 4 4 14 -45.4545 32.6789 -70.8661 -9.1339 34 0 0 0 0 0 34 0 0 25 '
                                         '0.7353 ',
                                         '2024 26 5 5 16 -42.3077 30.4783 -66.8652 -8.9969 34 0 0 0 0 0 34 0 0 29 '
                                         '0.8529 0.2333',
                                         '2025 26 4 5 17 -50 28.7056 -72.4243 -17.2309 30 0 0 0 0 0 30 0 0 27 0.9 '
                                         '0.9025'],
                               'sample': ['2025 26 4 5 17 -50 28.7056 -72.4243 -17.2309 30 0 0 0 0 0 30 0 0 27 0.9 '
                                          '0.9025'],
                               'distribution': ['0 2',
                                                '1 1',
                                                '2 3',
                                                '3 3',
                                                '4 3',
                                                '5 1',
                                                '6 4',
                                                '7 2',
                                                '8 3',
                                                '9 1',
                                                '10 3'],
                               'segments': [' 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 ',
                                            'Enterprise 3 1 1 1 0 92.3953 -61.1137 61.1137 6 0 0 0 0 0 6 0 0 3 0.5 '
                                            '0.6167',
                                            'Mid-market 7 1 1 5 -57.1429 53.963 -87.6082 7.6082 7 0 0 0 0 0 7 0 0 '
                                            '7 1 0.6654',
                                            'SMB 11 1 2 8 -63.6364 37.9885 -87.0405 -12.9595 12 0 0 0 0 0 12 0 0 '
                                            '12 1 1'],
                               'touchpoints': [' 4 1 1 2 -25 81.2573 -72.7323 44.1608 6 0 0 0 0 0 6 0 0 3 0.5 '
                                               '0.3197',
                                               'phone 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 ',
                                               'store 7 1 1 5 -57.1429 53.963 -87.6082 7.6082 7 0 0 0 0 0 7 0 0 7 '
                                               '1 0.3386',
                                               'web 10 1 2 7 -60 41.1133 -85.269 -7.0387 12 0 0 0 0 0 12 0 0 12 1 '
                                               '0.2442'],
                               'surveys': ['Hidden order 9 1 2 6 -55.5556 44.7491 -83.0409 -0.2925 13 0 0 0 0 0 13 '
                                           '0 0 10 0.7692 ',
                                           'Order 17 3 3 11 -47.0588 36.8856 -74.3699 -5.6301 17 0 0 0 0 0 17 0 0 '
                                           '17 1 0.9025'],
                               'verbatims': ['2025-12-14T11:00:00+00:00 6 detractor Sie haben mich um eine 10 '
                                             'gebeten ok',
                                             '2025-12-10T11:00:00+00:00 8 passive Sie haben mich um eine 10 '
                                             'gebeten ok',
                                             '2025-12-06T11:00:00+00:00 10 promoter Sie haben mich um eine 10 '
                                             'gebeten ok',
                                             '2025-12-02T11:00:00+00:00 1 detractor Sie haben mich um eine 10 '
                                             'gebeten ok',
                                             '2025-11-28T10:00:00+00:00 3 detractor Sie haben mich um eine 10 '
                                             'gebeten ok',
                                             '2025-10-24T11:00:00+00:00 0 detractor Slow support Please give me a '
                                             '10 minute call',
                                             '2025-10-20T11:00:00+00:00 2 detractor Slow support Please give me a '
                                             '10 minute call',
                                             '2025-10-16T11:00:00+00:00 4 detractor Slow support Please give me a '
                                             '10 minute call',
                                             "2025-07-08T11:00:00+00:00 2 detractor On m'a demandé de mettre 10. ",
                                             "2025-07-04T11:00:00+00:00 4 detractor On m'a demandé de mettre 10. "],
                               'integrity': ['Response rate under 20 % False 90.0% of 30 delivered invitations '
                                             'were answered (threshold 20%). Surveys and their progress',
                                             'Fewer than 100 responses True 26 responses (threshold 100): too few '
                                             'for a meaningful margin of error (it takes at least 30); the figure '
                                             'may move a long way with the next answers. ',
                                             'Touchpoint scores cluster at 9–10 False No touchpoint stands out '
                                             'from the rest. ',
                                             'Sender scores cluster at 9–10 False No sender stands out from the '
                                             'rest. ',
                                             'Verbatims mention being asked for a high score True 14 verbatim(s) '
                                             'say the customer was asked for a high score. Score 6: “Sie haben '
                                             'mich um eine 10 gebeten” | Score 8: “Sie haben mich um eine 10 '
                                             'gebeten” | Score 10: “Sie haben mich um eine 10 gebeten” | Score 1: '
                                             '“Sie haben mich um eine 10 gebeten” | Score 3: “Sie haben mich um '
                                             "eine 10 gebeten” | Score 2: “On m'a demandé de mettre 10.” | Score "
                                             "4: “On m'a demandé de mettre 10.” | Score 6: “On m'a demandé de "
                                             "mettre 10.” | Score 8: “On m'a demandé de mettre 10.” | Score 10: "
                                             "“On m'a demandé de mettre 10.” | Score 3: “THE AGENT TOLD ME TO RATE "
                                             'THEM 10” | Score 5: “THE AGENT TOLD ME TO RATE THEM 10” | Score 7: '
                                             '“THE AGENT TOLD ME TO RATE THEM 10” | Score 9: “THE AGENT TOLD ME TO '
                                             'RATE THEM 10”',
                                             'Hand-picked audience False Every invitation went to an audience '
                                             'chosen by a rule. '],
                               'loyalty': [],
                               'flags': ['low_response_rate False 90.0% of 30 delivered invitations were answered '
                                         '(threshold 20%). Surveys and their progress',
                                         'small_sample True 26 responses (threshold 100): too few for a meaningful '
                                         'margin of error (it takes at least 30); the figure may move a long way '
                                         'with the next answers. ',
                                         'touchpoint_clustering False No touchpoint stands out from the rest. ',
                                         'sender_email_clustering False No sender stands out from the rest. ',
                                         'solicited_scores True 14 verbatim(s) say the customer was asked for a '
                                         'high score. Score 6: “Sie haben mich um eine 10 gebeten” | Score 8: “Sie '
                                         'haben mich um eine 10 gebeten” | Score 10: “Sie haben mich um eine 10 '
                                         'gebeten” | Score 1: “Sie haben mich um eine 10 gebeten” | Score 3: “Sie '
                                         "haben mich um eine 10 gebeten” | Score 2: “On m'a demandé de mettre 10.” "
                                         "| Score 4: “On m'a demandé de mettre 10.” | Score 6: “On m'a demandé de "
                                         "mettre 10.” | Score 8: “On m'a demandé de mettre 10.” | Score 10: “On "
                                         "m'a demandé de mettre 10.” | Score 3: “THE AGENT TOLD ME TO RATE THEM "
                                         '10” | Score 5: “THE AGENT TOLD ME TO RATE THEM 10” | Score 7: “THE AGENT '
                                         'TOLD ME TO RATE THEM 10” | Score 9: “THE AGENT TOLD ME TO RATE THEM 10”',
                                         'hand_picked False Every invitation went to an audience chosen by a '
                                         'rule. ']},
 'month': {'trend': ['2024-06 6 1 2 3 -33.3333 59.6409 -71.1886 26.7442 6 0 0 0 0 0 6 0 0 6 1 0.1018',
                     '2024-07 1 1 0 0 100 0 -48.5 98.5 1 0 0 0 0 0 1 0 0 1 1 0',
                     '2024-08 5 1 1 3 -40 70.1231 -79.7837 29.7837 5 0 0 0 0 0 5 0 0 5 1 0',
                     '2024-09 0 0 0 0     1 0 0 0 0 0 1 0 0 0 0 ',
                     '2024-10 1 0 0 1 -100 0 -98.5 48.5 6 0 0 0 0 0 6 0 0 1 0.1667 0.5643',
                     '2024-11 3 1 1 1 0 92.3953 -61.1137 61.1137 3 0 0 0 0 0 3 0 0 3 1 0',
                     '2024-12 4 0 0 4 -100 0 -100 -6.9433 4 0 0 0 0 0 4 0 0 4 1 0',
                     '2025-01 9 2 1 6 -44.4444 54.3233 -80.0097 13.3431 9 0 0 0 0 0 9 0 0 9 1 0',
                     '2025-02 0 0 0 0     0 0 0 0 0 0 0 0 0 0  ',
                     '2025-03 8 2 1 5 -37.5 59.3841 -76.6578 22.1123 8 0 0 0 0 0 8 0 0 8 1 0',
                     '2025-04 1 0 0 1 -100 0 -98.5 48.5 1 0 0 0 0 0 1 0 0 1 1 0',
                     '2025-05 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 '],
           'sample': ['2025-05 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 '],
           'distribution': ['0 0', '1 1', '2 0', '3 1', '4 0', '5 0', '6 0', '7 0', '8 1', '9 0', '10 1'],
           'segments': ['SMB 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 '],
           'touchpoints': ['web 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 '],
           'surveys': ['Annual 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 '],
           'verbatims': ['2025-05-16T11:00:00+00:00 8 passive I asked for a refund, got credit ',
                         '2025-05-12T11:00:00+00:00 10 promoter I asked for a refund, got credit ',
                         '2025-05-08T11:00:00+00:00 1 detractor I asked for a refund, got credit ',
                         '2025-05-04T10:00:00+00:00 3 detractor I asked for a refund, got credit '],
           'integrity': ['Response rate under 20 % False 100.0% of 4 delivered invitations were answered '
                         '(threshold 20%). Surveys and their progress',
                         'Fewer than 100 responses True 4 responses (threshold 100): too few for a meaningful '
                         'margin of error (it takes at least 30); the figure may move a long way with the next '
                         'answers. ',
                         'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the rest. ',
                         'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                         'Verbatims mention being asked for a high score False No verbatim mentions being asked '
                         'for a high score. ',
                         'Hand-picked audience False Every invitation went to an audience chosen by a rule. '],
           'loyalty': ['promoter 1 0 0  0 0 0 0 True',
                       'passive 1 0 52.24  0 0 0 0 True',
                       'detractor 2 0 0  0 0 0 0 True'],
           'flags': ['low_response_rate False 100.0% of 4 delivered invitations were answered (threshold 20%). '
                     'Surveys and their progress',
                     'small_sample True 4 responses (threshold 100): too few for a meaningful margin of error (it '
                     'takes at least 30); the figure may move a long way with the next answers. ',
                     'touchpoint_clustering False No touchpoint stands out from the rest. ',
                     'sender_email_clustering False No sender stands out from the rest. ',
                     'solicited_scores False No verbatim mentions being asked for a high score. ',
                     'hand_picked False Every invitation went to an audience chosen by a rule. ']},
 '2024 Enterprise': {'trend': ['2022 0 0 0 0     0 0 0 0 0 0 0 0 0 0  ',
                               '2023 7 1 1 5 -57.1429 53.963 -87.6082 7.6082 12 0 0 0 0 0 12 0 0 7 0.5833 0.4009',
                               '2024 7 2 2 3 -14.2857 61.709 -59.5845 39.5845 7 0 0 0 0 0 7 0 0 7 1 0.6806'],
                     'sample': ['2024 7 2 2 3 -14.2857 61.709 -59.5845 39.5845 7 0 0 0 0 0 7 0 0 7 1 0.6806'],
                     'distribution': ['0 0', '1 1', '2 0', '3 1', '4 0', '5 1', '6 0', '7 1', '8 1', '9 1', '10 1'],
                     'segments': ['Enterprise 7 2 2 3 -14.2857 61.709 -59.5845 39.5845 7 0 0 0 0 0 7 0 0 7 1 '
                                  '0.6806'],
                     'touchpoints': [' 7 2 2 3 -14.2857 61.709 -59.5845 39.5845 7 0 0 0 0 0 7 0 0 7 1 0.6806'],
                     'surveys': ['Annual 2 1 0 1 0 138.5929 -73.3365 73.3365 2 0 0 0 0 0 2 0 0 2 1 0.2136',
                                 'Pulse 4 1 1 2 -25 81.2573 -72.7323 44.1608 4 0 0 0 0 0 4 0 0 4 1 0.467',
                                 'Secret 1 0 1 0 0 0 -60.0125 60.0125 1 0 0 0 0 0 1 0 0 1 1 '],
                     'verbatims': ['2024-07-04T11:00:00+00:00 10 promoter Je suis prié de donner une bonne note ',
                                   '2024-06-30T11:00:00+00:00 1 detractor Je suis prié de donner une bonne note ',
                                   '2024-06-26T10:00:00+00:00 3 detractor Je suis prié de donner une bonne note ',
                                   '2024-06-22T11:00:00+00:00 5 detractor Je suis prié de donner une bonne note ',
                                   '2024-06-18T11:00:00+00:00 7 passive Je suis prié de donner une bonne note ',
                                   '2024-06-14T11:00:00+00:00 9 promoter Je suis prié de donner une bonne note '],
                     'integrity': ['Response rate under 20 % False 100.0% of 7 delivered invitations were answered '
                                   '(threshold 20%). Surveys and their progress',
                                   'Fewer than 100 responses True 7 responses (threshold 100): too few for a '
                                   'meaningful margin of error (it takes at least 30); the figure may move a long '
                                   'way with the next answers. ',
                                   'Touchpoint scores cluster at 9–10 False No touchpoint stands out from the '
                                   'rest. ',
                                   'Sender scores cluster at 9–10 False No sender stands out from the rest. ',
                                   'Verbatims mention being asked for a high score True 7 verbatim(s) say the '
                                   'customer was asked for a high score. Those of anonymous surveys are counted, '
                                   'not listed: the filter would tie them to its group. Score 10: “Je suis prié de '
                                   'donner une bonne note” | Score 1: “Je suis prié de donner une bonne note” | '
                                   'Score 3: “Je suis prié de donner une bonne note” | Score 5: “Je suis prié de '
                                   'donner une bonne note” | Score 7: “Je suis prié de donner une bonne note” | '
                                   'Score 9: “Je suis prié de donner une bonne note”',
                                   'Hand-picked audience False Every invitation went to an audience chosen by a '
                                   'rule. '],
                     'loyalty': ['promoter 1 0 0  0 0 0 0 True',
                                 'passive 1 0 0  0 0 0 0 True',
                                 'detractor 3 99.66 50.08 0.5025 1 68.38 0 0 True'],
                     'flags': ['low_response_rate False 100.0% of 7 delivered invitations were answered (threshold '
                               '20%). Surveys and their progress',
                               'small_sample True 7 responses (threshold 100): too few for a meaningful margin of '
                               'error (it takes at least 30); the figure may move a long way with the next '
                               'answers. ',
                               'touchpoint_clustering False No touchpoint stands out from the rest. ',
                               'sender_email_clustering False No sender stands out from the rest. ',
                               'solicited_scores True 7 verbatim(s) say the customer was asked for a high score. '
                               'Those of anonymous surveys are counted, not listed: the filter would tie them to '
                               'its group. Score 10: “Je suis prié de donner une bonne note” | Score 1: “Je suis '
                               'prié de donner une bonne note” | Score 3: “Je suis prié de donner une bonne note” '
                               '| Score 5: “Je suis prié de donner une bonne note” | Score 7: “Je suis prié de '
                               'donner une bonne note” | Score 9: “Je suis prié de donner une bonne note”',
                               'hand_picked False Every invitation went to an audience chosen by a rule. ']}}
API = {'period=2025': {'period': '2025',
                 'responses': 44,
                 'promoters': 9,
                 'passives': 9,
                 'detractors': 26,
                 'nps': '-38.6364',
                 'nps_shown': -39,
                 'margin_of_error': '23.7523',
                 'ci_low': '-59.1447',
                 'ci_high': '-13.1958',
                 'invited': 52,
                 'suppressed': 0,
                 'suppressed_by_reason': {'opted_out': 0, 'throttled': 0, 'no_email': 0, 'bounced_before': 0},
                 'delivered': 52,
                 'bounced': 0,
                 'failed': 0,
                 'responded': 44,
                 'response_rate': '0.8462',
                 'revenue_share_of_respondents': '0.8849',
                 'survey_type': 'relationship',
                 'segment': None,
                 'touchpoint': None,
                 'counting': 'all',
                 'distribution': [4, 5, 3, 5, 3, 4, 2, 6, 3, 4, 5]},
 'period=2025&counting=latest': {'period': '2025',
                                 'responses': 39,
                                 'promoters': 8,
                                 'passives': 8,
                                 'detractors': 23,
                                 'nps': '-38.4615',
                                 'nps_shown': -38,
                                 'margin_of_error': '25.2439',
                                 'ci_low': '-60.0271',
                                 'ci_high': '-11.4015',
                                 'invited': 52,
                                 'suppressed': 0,
                                 'suppressed_by_reason': {'opted_out': 0,
                                                          'throttled': 0,
                                                          'no_email': 0,
                                                          'bounced_before': 0},
                                 'delivered': 52,
                                 'bounced': 0,
                                 'failed': 0,
                                 'responded': 44,
                                 'response_rate': '0.8462',
                                 'revenue_share_of_respondents': '0.8849',
                                 'survey_type': 'relationship',
                                 'segment': None,
                                 'touchpoint': None,
                                 'counting': 'latest',
                                 'distribution': [2, 4, 3, 5, 3, 4, 2, 5, 3, 3, 5]},
 'period=2025-Q2&segment=SMB': {'period': '2025-Q2',
                                'responses': 5,
                                'promoters': 1,
                                'passives': 1,
                                'detractors': 3,
                                'nps': '-40.0000',
                                'nps_shown': -40,
                                'margin_of_error': '70.1231',
                                'ci_low': '-79.7837',
                                'ci_high': '29.7837',
                                'invited': 5,
                                'suppressed': 0,
                                'suppressed_by_reason': {'opted_out': 0,
                                                         'throttled': 0,
                                                         'no_email': 0,
                                                         'bounced_before': 0},
                                'delivered': 5,
                                'bounced': 0,
                                'failed': 0,
                                'responded': 5,
                                'response_rate': '1.0000',
                                'revenue_share_of_respondents': None,
                                'survey_type': 'relationship',
                                'segment': 'SMB',
                                'touchpoint': None,
                                'counting': 'all',
                                'distribution': [0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1]}}
