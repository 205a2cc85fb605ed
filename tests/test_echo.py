"""match_echoed / looks_echoed / resolve_echo on real and realistic echoed answers."""

from __future__ import annotations

import pytest

from activellm_modal.query.echo import EchoMatch, looks_echoed, match_echoed, resolve_echo
from activellm_modal.query.parsing import parse_answer

# Answers of SmolLM2-135M-Instruct (Q4_1, llama.cpp via xllamacpp, temperature 0) to the
# ActiveLLM prompt: 20 SST-2 sentences presented (random_state 0, 1, 2), k=4, max_tokens=200.
# Each is given with the texts as presented, in presentation order.
RECORDED = [
    (
        [
            "it 's so bad",
            (
                "more than another `` best man '' clone by weaving a theme throughout "
                "this funny film"
            ),
            "amazingly lame .",
            "the picture 's fascinating byways",
            "as predictable as the tides",
            "do n't work in concert",
            (
                "very little to add beyond the dark visions already relayed by superb "
                "recent predecessors"
            ),
            (
                "demonstrates that the director of such hollywood blockbusters as "
                "patriot games can still turn out a small , personal film with an "
                "emotional wallop ."
            ),
            "saw how bad this movie was",
            "in memory",
            "joyous romp of a film .",
            "rather choppy",
            ("i could have used my two hours better watching being john malkovich again ."),
            "very good viewing alternative",
            "the greatest musicians",
            "breathless anticipation",
            (
                ", you ca n't help but get caught up in the thrill of the company 's "
                "astonishing growth ."
            ),
            "altogether too slight to be called any kind of masterpiece",
            "elvira fans could hardly ask for more .",
            "bound to appeal to women looking for a howlingly trashy time",
        ],
        "\n".join(
            [
                "<instances>",
                "[0] it 's so bad",
                (
                    "[1] more than another `` best man '' clone by weaving a theme "
                    "throughout this funny film"
                ),
                "[2] amazingly lame .",
                "[3] the picture 's fascinating byways",
                "[4] as predictable as the tides",
                "[5] do n't work in concert",
                (
                    "[6] very little to add beyond the dark visions already relayed by "
                    "superb recent predecessors"
                ),
                (
                    "[7] very little to add beyond the dark visions already relayed by "
                    "superb recent predecessors"
                ),
                "[8] joyn malkovich fans could hardly ask for more",
                "[9] breathless anticipation",
                (
                    "[10] , you ca n't help but get caught up in the thrill of the company "
                    "'s astonishing growth"
                ),
                (
                    "[11] even though it was a film about a film about a film about a film "
                    "about a film about a film about a film about a film about a film "
                    "about a film about a film about a film about"
                ),
            ]
        ),
    ),
    (
        [
            "very well-written and very well-acted .",
            "an extremely unpleasant film .",
            "just too silly",
            ", generous and subversive artworks",
            "disappointments",
            "hopeless",
            ("marivaux 's rhythms , and mira sorvino 's limitations as a classical actress"),
            "goes to absurd lengths",
            "extraordinary faith",
            "joyous romp of a film .",
            "walked out muttering words like `` horrible '' and `` terrible , ''",
            (
                "caruso sometimes descends into sub-tarantino cuteness ... but for the "
                "most part he makes sure the salton sea works the way a good noir "
                "should , keeping it tight and nasty ."
            ),
            "i hate it .",
            "a movie that ca n't get sufficient distance from leroy 's",
            "exhilarating , funny and fun .",
            "the , yes , snail-like pacing",
            (
                "was produced by jerry bruckheimer and directed by joel schumacher , "
                "and reflects the worst of their shallow styles : wildly overproduced "
                ", inadequately motivated every step of the way and demographically "
                "targeted to please every one ( and no one )"
            ),
            "mourns her tragedies in private",
            "dabbles all around , never gaining much momentum",
            ("i could have used my two hours better watching being john malkovich again ."),
        ],
        "\n".join(
            [
                "<instances>",
                "[0] very well-written and very well-acted .",
                "[1] an extremely unpleasant film .",
                "[2] just too silly .",
                "[3] , generous and subversive artworks .",
                "[4] disappointments .",
                "[5] hopeless .",
                "[6] mariadul sea .",
                ("[7] walked out muttering words like `` horrible '' and `` terrible , ''"),
                "[8] caruso sometimes descends into sub-tarantino cuteness .",
                (
                    "[9] was produced by jerry bruckheimer and directed by jerry "
                    "bruckheimer and directed by jerry bruckheimer and directed by jerry "
                    "bruckheimer and directed by jerry bruckheimer and directed by jerry "
                    "bruckheimer and directed by jerry bruckheimer and directed by jerry "
                    "bruckheimer and directed by jerry bruckheimer and directed by jerry "
                    "bruckheimer and"
                ),
            ]
        ),
    ),
    (
        [
            "respectable new one",
            "a dim",
            (
                "the entire point of a shaggy dog story , of course , is that it goes "
                "nowhere , and this is classic nowheresville in every sense ."
            ),
            "the promise of digital filmmaking",
            "outrageously creative action",
            "are all things we 've seen before",
            "ultra-cheesy dialogue",
            (
                "khouri manages , with terrific flair , to keep the extremes of "
                "screwball farce and blood-curdling family intensity on one continuum ."
            ),
            "demands and receives excellent performances",
            "becomes one more dumb high school comedy about sex gags and prom dates",
            "sit through ,",
            "despite suffering a sense-of-humour failure",
            "eats , meddles , argues , laughs , kibbitzes and fights",
            "it 's too harsh to work as a piece of storytelling ,",
            "starts with a legend",
            "unpretentious , charming , quirky , original",
            "take care is nicely performed by a quintet of actresses ,",
            ", esther kahn is unusual but unfortunately also irritating .",
            "bound to appeal to women looking for a howlingly trashy time",
            ", this gender-bending comedy is generally quite funny .",
        ],
        "\n".join(
            [
                "<instances>",
                "[1] The entire point of a shaggy dog story",
                "[2] The promise of digital filmmaking",
                "[3] outrageously creative action",
                "[4] ultra-cheesy dialogue",
                "[5] khouri manages",
                "[6] sit through",
                "[7] despite suffering a sense-of-humour failure",
                "[8] eats",
                "[9] meddles",
                "[10] demands",
                "[11] demands",
                "[12] demands",
                "[13] demands",
                "[14] demands",
                "[15] demands",
                "[16] demands",
                "[17] demands",
                "[18] demands",
                "[19] demands",
                "[20] demands",
                "</instances>",
            ]
        ),
    ),
]


@pytest.mark.parametrize(
    ("case", "expected", "parsed_expected"),
    [
        # Copied [0]..[6] with the right numbers, then a mangled line, then two more.
        (0, (0, 1, 2, 3, 4, 5, 6, 15, 16), (0, 1, 2, 3)),
        (1, (0, 1, 2, 3, 4, 5, 10, 11), (0, 1, 2, 3)),
        # Renumbered from [1]: the numbers are off by one or more, the texts are not.
        (2, (2, 3, 4, 6, 7, 10, 11), (1, 2, 3, 4)),
    ],
)
def test_recorded_smollm2_answers_map_back_by_text(case, expected, parsed_expected):
    presented, answer = RECORDED[case]
    match = match_echoed(answer, presented)
    assert match.positions == expected
    assert match.ambiguous == ()
    assert looks_echoed(answer, presented)
    assert match.in_presented_order  # it copied the list; it did not choose
    parsed = parse_answer(answer, len(presented), 4)
    assert parsed.positions == parsed_expected  # the parser reads the model's numbering
    resolution = resolve_echo(answer, presented, parsed.positions, 4, parsed_method=parsed.method)
    assert resolution.source == "echo" and resolution.copied_list
    assert resolution.positions == expected[:4]
    assert "copied" in resolution.note


def test_recorded_unmatched_lines_are_counted():
    presented, answer = RECORDED[2]
    # "[8] eats", "[9] meddles" and eleven "[n] demands" match no presented text whole,
    # and are too short to stand for the one they are part of.
    assert match_echoed(answer, presented).unmatched == 13


SHOWN = [
    "amazingly lame .",
    "joyous romp of a film .",
    "do n't work in concert",
    "rather choppy",
    "the greatest musicians",
    "i could have used my two hours better watching being john malkovich again .",
    "in memory",
    "very good viewing alternative",
    "saw how bad this movie was",
    "a film about love and loss",
    "a film about love and war",
    "10 minutes into the film you 'll be bored",
]


@pytest.mark.parametrize(
    ("answer", "positions"),
    [
        # Own numbering, the model's spelling and punctuation.
        (
            "Here are the 4 instances I would choose:\n1. Amazingly lame!\n2. Joyous romp of a "
            'film\n3. "rather choppy"\n4. The Greatest Musicians.',
            (0, 1, 3, 4),
        ),
        # Bullets, markdown and a remark after the text.
        (
            "- **very good viewing alternative** (positive)\n* saw how bad this movie was — "
            "negative\n• In memory",
            (7, 8, 6),
        ),
        # Detokenised text: "don't" for "do n't", "you'll" for "you 'll".
        ("1) don't work in concert\n2) 10 minutes into the film you'll be bored", (2, 11)),
        # Shortened or cut off: a long enough part of exactly one text.
        ("1. i could have used my two hours better watching...\n2. joyous romp", (5,)),
        # Several quoted texts on one line, in prose.
        ('I choose "rather choppy" and “the greatest musicians”.', (3, 4)),
        # The prompt's own format, right or wrong numbers: the text decides.
        ("[3] amazingly lame .\n[0] in memory", (0, 6)),
        # Instance labels and numbers the model made up.
        ("Instance 12: saw how bad this movie was\nInstance 13: rather choppy", (8, 3)),
        # A repeated copy counts once.
        ("1. rather choppy\n2. rather choppy\n3. in memory", (3, 6)),
    ],
)
def test_realistic_echoes(answer, positions):
    assert match_echoed(answer, SHOWN).positions == positions


def test_ambiguous_snippet_is_reported_not_guessed():
    match = match_echoed('1. "a film about love"\n2. rather choppy', SHOWN)
    assert match.positions == (3,)
    assert match.ambiguous == ("a film about love",)
    assert match.unmatched == 0


def test_short_snippet_does_not_stand_for_a_text():
    # "joyous romp" (10 alphanumerics) is below MIN_SNIPPET: a part that short is no proof.
    match = match_echoed("1. joyous romp\n2. lame", SHOWN)
    assert match.positions == () and match.unmatched == 2


def test_made_up_and_fence_lines():
    answer = "<instances>\n1. a riveting thriller\n2. rather choppy\n</instances>\nDone."
    match = match_echoed(answer, SHOWN)
    assert match.positions == (3,)
    assert match.unmatched == 1  # the invented text; prose and fence lines are not items


def test_short_text_inside_a_long_remark_is_no_match():
    # "in memory" is a presented text, but here it is a phrase inside a comment.
    answer = "- this one stays in memory because the acting is strong and the plot is tight"
    assert match_echoed(answer, SHOWN).positions == ()


def test_explained_picks_are_not_an_echo():
    answer = (
        'Instance 3 ("rather choppy") is a clear negative review of the editing.\n'
        'Instance 7 ("very good viewing alternative") is clearly positive.\n'
        "Final answer: 3, 7"
    )
    assert not looks_echoed(answer, SHOWN)
    assert match_echoed(answer, SHOWN).positions == (3, 7)  # the quotes still map
    parsed = parse_answer(answer, len(SHOWN), 2)
    resolution = resolve_echo(answer, SHOWN, parsed.positions, 2, parsed_method=parsed.method)
    assert resolution == type(resolution)((3, 7), "parsed")


def test_final_list_after_an_echo_wins():
    answer = (
        "1. amazingly lame .\n2. joyous romp of a film .\n3. do n't work in concert\nI select: 8, 4"
    )
    parsed = parse_answer(answer, len(SHOWN), 2)
    assert parsed.positions == (8, 4) and parsed.method == "list"
    resolution = resolve_echo(answer, SHOWN, parsed.positions, 2, parsed_method=parsed.method)
    assert resolution.source == "parsed" and resolution.positions == (8, 4)
    assert resolution.match is not None and resolution.match.positions == (0, 1, 2)


def test_echo_replaces_renumbered_positions_and_is_a_real_choice():
    answer = "1. saw how bad this movie was\n2. in memory\n3. amazingly lame ."
    parsed = parse_answer(answer, len(SHOWN), 3)
    resolution = resolve_echo(answer, SHOWN, parsed.positions, 3, parsed_method=parsed.method)
    assert resolution.source == "echo"
    assert resolution.positions == (8, 6, 0)
    assert not resolution.copied_list


def test_single_pick_echo_counts_when_k_is_one():
    answer = "The one I would label:\nrather choppy"
    assert not looks_echoed(answer, SHOWN)
    assert looks_echoed(answer, SHOWN, min_lines=1)
    resolution = resolve_echo(answer, SHOWN, [], 1)
    assert resolution.positions == (3,) and resolution.source == "echo"


def test_no_echo_no_texts_and_empty_answer():
    assert match_echoed("", SHOWN) == EchoMatch(())
    assert match_echoed("3, 7", SHOWN).positions == ()
    assert match_echoed("1. rather choppy", []).positions == ()
    assert not looks_echoed("3, 7\n1, 2", SHOWN)
