"""Number parsing and progress figures: right figures kept, wrong ones (other indicator, place,
period, goal) never attached."""

from __future__ import annotations

import pytest
from support_data import match_json as _match

from monitor.matching.figures import cn_to_number, parse_numbers, unit_scale


@pytest.mark.parametrize(
    "text, value, unit, qualifier",
    [
        ("六千套", 6000, "套", ""),
        ("1.2万套", 12000, "套", ""),
        ("百分之九十", 90, "%", ""),
        ("百分之九十二点三", 92.3, "%", ""),
        ("92.3%", 92.3, "%", ""),
        ("35万名以上", 350000, "名", ">="),
        ("超3000套", 3000, "套", ">="),
        ("3000-4000套", 3000, "套", "range"),
        ("三千到四千套", 3000, "套", "range"),
        ("30万—35万名", 300000, "名", "range"),
        ("三十五万名", 350000, "名", ""),
        ("一万二千套", 12000, "套", ""),
        ("两千余套", 2000, "套", ">="),
        ("1,200套", 1200, "套", ""),
        ("约500名", 500, "名", "~"),
        ("九成以上", 90, "%", ">="),
        ("17.3万人次", 173000, "人次", ""),
    ],
)
def test_parse_numbers(text, value, unit, qualifier):
    numbers = parse_numbers(text)
    assert len(numbers) == 1
    n = numbers[0]
    assert (n.value, n.unit, n.qualifier) == (value, unit, qualifier)
    assert text[n.start : n.end] == text


def test_range_upper_bound():
    assert parse_numbers("3000-4000套")[0].upper == 4000
    assert parse_numbers("30万—35万名")[0].upper == 350000


@pytest.mark.parametrize(
    "text", ["一网通办", "统一办理", "一件事", "三数一链", "十大攀登行动", "百名专家", "建成", "完成"]
)
def test_words_are_not_numbers(text):
    assert parse_numbers(text) == []


def test_onenet_is_not_one():
    numbers = parse_numbers("一网通办收件率达百分之九十")
    assert [(n.value, n.unit) for n in numbers] == [(90, "%")]


@pytest.mark.parametrize(
    "text, value",
    [
        ("六千", 6000),
        ("三十五万", 350000),
        ("十五", 15),
        ("五百", 500),
        ("九十二点三", 92.3),
        ("二〇二四", 2024),
        ("一亿二千万", 120_000_000),
        ("两", 2),
    ],
)
def test_cn_to_number(text, value):
    assert cn_to_number(text) == value


def test_unit_scale():
    assert unit_scale("万名") == (10000, "名")
    assert unit_scale("%") == (1, "%")
    assert unit_scale("套") == (1, "套")


# ---------------------------------------------------------------- progress rules


def art(text, published="2024-07-10", title="杭州住房保障和人才工作推进", url=None):
    return {
        "url": url or "https://www.hangzhou.gov.cn/art/2024/7/10/art_1_1.html",
        "site": "杭州市人民政府",
        "title": title,
        "published": published,
        "text": text,
    }


def figures(matcher, article):
    r = _match(matcher, article)
    return [(p["target"], p["value"], p["unit"], p["as_of"]) for p in r["progress"]]


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("截至6月底，全市新建配售型保障性住房3200套。", [("tgt-housing-6000", 3200, "套", "2024-06-30")]),
        ("截至6月20日，全市新建配售型保障性住房1.2万套。", [("tgt-housing-6000", 12000, "套", "2024-06-20")]),
        ("上半年，全市新建配售型保障房六千套。", [("tgt-housing-6000", 6000, "套", "2024-06-30")]),
        ("1-5月，杭州新建配售型保障性住房超3000套。", [("tgt-housing-6000", 3000, "套", "2024-05-31")]),
        ("今年以来，全市新引进35岁以下大学生28.6万名。", [("tgt-graduates-350k", 28.6, "万名", "2024-07-10")]),
        ("今年以来，全市新引进35岁以下大学生286000名。", [("tgt-graduates-350k", 28.6, "万名", "2024-07-10")]),
        ("全市大厅“一网通办”收件率达92.3%。", [("tgt-onenet-intake-90", 92.3, "%", "2024-07-10")]),
        ("目前，全市大厅“一网通办”收件率超九成。", [("tgt-onenet-intake-90", 90, "%", "2024-07-10")]),
        (
            "全市大厅“一网通办”收件率、窗口单事项“一网通办”占比达标率分别达93%、96.5%。",
            [("tgt-onenet-intake-90", 93, "%", "2024-07-10"), ("tgt-onenet-window-90", 96.5, "%", "2024-07-10")],
        ),
        (
            "上半年，全市新引育顶尖人才9名、各类领军人才268名。",
            [("tgt-top-talent-15", 9, "名", "2024-06-30"), ("tgt-leading-talent-500", 268, "名", "2024-06-30")],
        ),
        ("今年以来，杭州市累计新引进35岁以下大学生21万名。", [("tgt-graduates-350k", 21, "万名", "2024-07-10")]),
        (
            "1-7月，全市保障性租赁住房、配售型保障性住房分别新开工1.2万套、2600套。",
            [("tgt-housing-6000", 2600, "套", "2024-07-31")],
        ),
        ("2024年以来，全市新引进35岁以下大学生21万名。", [("tgt-graduates-350k", 21, "万名", "2024-07-10")]),
    ],
)
def test_figures_that_count(matcher, sentence, expected):
    text = "我市深入推进住房保障、政务服务增值化改革和人才强市建设，青荷驿站持续扩容。" + sentence
    assert figures(matcher, art(text)) == expected


@pytest.mark.parametrize(
    "sentence, why",
    [
        ("今年以来，全市筹集保障性租赁住房3.2万套。", "another indicator"),
        ("今年以来，全市新开工保障性租赁住房1.2万套，配售型保障性住房正在开工。", "figure belongs to the decoy"),
        ("今年以来，余杭区新建配售型保障性住房800套。", "a district"),
        ("今年以来，全市新建配售型保障性住房中，余杭区800套。", "a district after the city"),
        ("2023年，全市新引进35岁以下大学生37.1万名。", "an earlier year"),
        ("去年，全市新引进35岁以下大学生37.1万名。", "last year"),
        ("2020年以来，全市累计引进35岁以下大学生190万人。", "multi-year total"),
        ("近五年，全市新引进35岁以下大学生160万名。", "multi-year total"),
        ("截至6月底，全市累计建成配售型保障性住房9000套。", "running total without a year start"),
        ("今年，杭州将新建配售型保障性住房不少于6000套。", "a goal"),
        ("全年力争新引进35岁以下大学生35万名以上。", "a goal"),
        ("2026年，全市新引育顶尖人才15名以上。", "a later year"),
        ("新建配售型保障性住房3200套。", "no city scope and no period"),
        ("今年以来，新引进35岁以下大学生28.6万名，其中博士1.2万名。", "no city scope"),
        ("今年以来，全市大厅“一网通办”收件率同比提高5%。", "a change, not a level"),
        ("全市保障性租赁住房、配售型保障性住房分别新开工1.2万套、2600套，其中余杭区1000套。", "no period"),
        ("全市新引进35岁以下大学生28.6万名。", "a count needs a period"),
        ("今年以来，全市青荷驿站接待大学生17.3万人次。", "visits are not people"),
    ],
)
def test_figures_that_do_not_count(matcher, sentence, why):
    # A new paragraph: the city named in the paragraph before is not this sentence's scope.
    text = "我市深入推进住房保障、政务服务增值化改革和人才强市建设，青荷驿站持续扩容。\n" + sentence
    assert figures(matcher, art(text)) == [], why


def test_subject_in_previous_sentence(matcher):
    text = "杭州市人才工作会议召开，青荷驿站持续扩容。今年以来，新引进35岁以下大学生28.6万名。"
    assert figures(matcher, art(text)) == [("tgt-graduates-350k", 28.6, "万名", "2024-07-10")]
    district = "余杭区人才工作会议召开，青荷驿站持续扩容。今年以来，新引进35岁以下大学生5.2万名。"
    assert figures(matcher, art(district)) == []


def test_year_end_result_published_next_year(matcher):
    text = "杭州市人才工作会议召开，青荷驿站持续扩容。2024年，全市新引进35岁以下大学生35.6万名。"
    assert figures(matcher, art(text, published="2025-01-20")) == [("tgt-graduates-350k", 35.6, "万名", "2024-12-31")]
    # The same words about 今年 in 2025 are 2025's figure, not the 2024 target's.
    text25 = "杭州市人才工作会议召开，青荷驿站持续扩容。今年以来，全市新引进35岁以下大学生20.1万名。"
    assert figures(matcher, art(text25, published="2025-07-20")) == []


def test_year_marker_before_year_end_needs_done_word(matcher):
    base = "杭州深入推进住房保障，积极探索配租+配售新模式。"
    assert figures(matcher, art(base + "今年全市新建配售型保障性住房6000套。", published="2024-03-01")) == []
    assert figures(matcher, art(base + "今年全市已新建配售型保障性住房3600套。", published="2024-09-01")) == [
        ("tgt-housing-6000", 3600, "套", "2024-09-01")
    ]


def test_quote_is_the_original_sentence(matcher):
    text = "杭州市住保房管局介紹，截至9月底，杭州全市新建配售型保障性住房4，100套。首批項目位於拱墅區。"
    r = _match(matcher, art(text, title="杭州配售型保障性住房建設提速", published="2024-10-12"))
    assert [(p["value"], p["as_of"]) for p in r["progress"]] == [(4100, "2024-09-30")]
    assert r["progress"][0]["quote"] == "杭州市住保房管局介紹，截至9月底，杭州全市新建配售型保障性住房4，100套。"


def test_no_figures_without_a_date(matcher):
    text = "杭州深入推进住房保障。截至6月底，全市新建配售型保障性住房3200套。"
    r = _match(matcher, art(text, published=None, url="https://example.org/news/abc.html"))
    assert r["relevant"] and r["progress"] == []


def test_last_year_in_next_years_article(matcher):
    text = "杭州市人才工作会议召开，青荷驿站持续扩容。去年，全市新引进35岁以下大学生35.2万名。"
    assert figures(matcher, art(text, published="2025-01-15")) == [("tgt-graduates-350k", 35.2, "万名", "2024-12-31")]
    assert figures(matcher, art(text, published="2024-01-15")) == []


def test_running_total_from_the_start_of_the_year(matcher):
    text = "杭州深入推进住房保障，积极探索配租+配售新模式。截至9月底，今年全市累计新建配售型保障性住房4500余套。"
    assert figures(matcher, art(text, published="2024-10-08")) == [("tgt-housing-6000", 4500, "套", "2024-09-30")]


def test_count_written_with_wan_only(matcher):
    text = "杭州市人才工作会议召开，青荷驿站持续扩容。今年以来，全市新引进35岁以下大学生28.6万，同比增长6%。"
    assert figures(matcher, art(text)) == [("tgt-graduates-350k", 28.6, "万名", "2024-07-10")]


def test_province_figure_is_not_the_city(matcher):
    text = "杭州深化政务服务增值化改革。今年以来，全省大厅“一网通办”收件率达91%。"
    assert figures(matcher, art(text)) == []


def test_end_of_named_year(matcher):
    text = "杭州深入推进住房保障，积极探索配租+配售新模式。截至2024年底，全市新建配售型保障性住房6200套。"
    assert figures(matcher, art(text, published="2025-01-06")) == [("tgt-housing-6000", 6200, "套", "2024-12-31")]


# ---------------------------------------------------------------- year reviews, numerals


@pytest.mark.parametrize(
    "text, value, unit, qualifier",
    [
        ("十名", 10, "名", ""),
        ("十九名", 19, "名", ""),
        ("二百六十余名", 260, "名", ">="),
        ("三十五点六万名", 356000, "名", ""),
        ("超过4000套", 4000, "套", ">="),
        ("7000余套", 7000, "套", ">="),
    ],
)
def test_parse_more_numerals(text, value, unit, qualifier):
    numbers = parse_numbers(text)
    assert [(n.value, n.unit, n.qualifier) for n in numbers] == [(value, unit, qualifier)]


def test_cn_decimal_with_wan():
    assert cn_to_number("三十五点六万") == 356000
    assert cn_to_number("十") == 10


# A city's report on the year just ended: a heading or lead names the year once; the figures after
# it carry no period of their own.
REVIEW = (
    "一、2024年工作回顾\n2024年，全市上下奋进深化改革、强基固本主题年。\n"
    "——民生保障更加有力。全市民生实事全面完成年度任务。新建配售型保障性住房7100余套。\n"
    "——人才集聚成效明显。青荷驿站扩容。全市新引进35岁以下大学生36.2万名，新引育顶尖人才十九名、各类领军人才五百八十名。\n"
)


def test_year_review_dates_unmarked_figures_to_that_year(matcher):
    got = figures(matcher, art(REVIEW, published="2025-01-25", title="杭州市政府工作报告摘要"))
    assert sorted(got) == [
        ("tgt-graduates-350k", 36.2, "万名", "2024-12-31"),
        ("tgt-housing-6000", 7100, "套", "2024-12-31"),
        ("tgt-leading-talent-500", 580, "名", "2024-12-31"),
        ("tgt-top-talent-15", 19, "名", "2024-12-31"),
    ]


def test_year_review_ends_where_the_next_year_begins(matcher):
    # The same unmarked figures under the next year's plan heading are goals, not results.
    text = REVIEW.split("——")[0] + "二、2025年工作安排\n全市新建配售型保障性住房7100余套。\n"
    assert figures(matcher, art(text, published="2025-01-25", title="杭州市政府工作报告摘要")) == []


def test_year_review_needs_the_right_publication_time(matcher):
    # A review marker in a mid-year article (过去一年 in July) is not a year-end review.
    text = "过去一年，杭州人才工作成效明显。\n全市新引进35岁以下大学生36.2万名。"
    assert figures(matcher, art(text, published="2024-07-10")) == []
    # Published in January: 过去一年 is 2024, and 全年 in it means 2024, not 2025.
    text = "过去一年，杭州人才工作成效明显。\n青荷驿站扩容。全年新引进大学生36.2万人。"
    assert figures(matcher, art(text, published="2025-01-10")) == [("tgt-graduates-350k", 36.2, "万名", "2024-12-31")]


def test_year_review_of_a_district_is_not_the_city(matcher):
    text = "2024年余杭区工作回顾\n过去一年，余杭区坚持人才引领。\n青荷驿站扩容。新引进35岁以下大学生3.3万名。"
    assert figures(matcher, art(text, published="2025-01-10")) == []


def test_year_review_today_in_the_next_year_is_that_year(matcher):
    # 今年 in a January review is the new year: its figure is not the reviewed year's.
    text = "过去一年，杭州人才工作成效明显。\n今年，全市新引进35岁以下大学生2.1万名。"
    assert figures(matcher, art(text, published="2025-01-10")) == []


def test_december_review_of_this_year(matcher):
    text = "一年来，杭州持续推进住房保障，探索配租+配售新模式。\n全市新建配售型保障性住房6300套。"
    assert figures(matcher, art(text, published="2024-12-28")) == [("tgt-housing-6000", 6300, "套", "2024-12-28")]


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("今年以来，全市已开工建设配售房2800套。", [("tgt-housing-6000", 2800, "套", "2024-07-10")]),
        ("今年以来，全市新引进大学生21.3万人。", [("tgt-graduates-350k", 21.3, "万名", "2024-07-10")]),
        ("2020年以来，全市累计新引进大学生190万人。", []),
        ("今年以来，余杭区新引进大学生3.1万人。", []),
    ],
)
def test_indicator_wordings(matcher, sentence, expected):
    text = "我市深入推进住房保障和人才强市建设，青荷驿站持续扩容。" + sentence
    assert figures(matcher, art(text)) == expected


def test_repeated_sentence_is_read_in_its_own_context(matcher):
    same = "今年以来，新引进35岁以下大学生28.6万名。"
    # The first copy follows a district, the second the city: only the second is the city's.
    text = "余杭区召开人才工作会议，青荷驿站扩容。" + same + "杭州市召开人才工作会议，青荷驿站扩容。" + same
    assert figures(matcher, art(text)) == [("tgt-graduates-350k", 28.6, "万名", "2024-07-10")]
    text = "杭州市召开人才工作会议，青荷驿站扩容。" + same + "杭州市召开人才工作会议，青荷驿站扩容。" + same
    assert figures(matcher, art(text)) == [("tgt-graduates-350k", 28.6, "万名", "2024-07-10")]


def test_period_from_the_previous_sentence_of_the_paragraph(matcher):
    text = (
        "杭州深入推进人才强市建设。\n上半年，新引育顶尖人才6名，完成年度任务近半。"
        "全市新引进35岁以下大学生18.3万名，同比增长5%。"
    )
    assert figures(matcher, art(text)) == [("tgt-graduates-350k", 18.3, "万名", "2024-06-30")]
    # A previous sentence about a goal or another year lends nothing.
    for before in ("全年力争新引进35岁以下大学生35万名。", "2023年，全市新引进大学生37.1万名。"):
        text = "杭州深入推进人才强市建设。\n" + before + "全市新引进35岁以下大学生18.3万名。"
        assert figures(matcher, art(text)) == [], before


def test_summary_title_marks_a_review(matcher):
    text = (
        "2024年，全市积极探索配租+配售住房保障新模式。\n"
        "全年全市新开工配售型保障性住房6300套，超额完成年度目标任务。\n"
        "2025年，我市将继续扩大配售型保障性住房供给。"
    )
    got = figures(matcher, art(text, published="2025-01-12", title="2024年我市住房保障工作综述"))
    assert got == [("tgt-housing-6000", 6300, "套", "2024-12-31")]


def test_list_form_year_end_figures(matcher):
    # The demo replica's year-end article: a paragraph opening on the year reviews it, so the next
    # paragraph's 全年 list gives both talent figures for that year.
    text = (
        "2024年，全市新引进35岁以下大学生37.2万人，超额完成35万人的年度目标，人才净流入率继续保持全国前列。\n"
        "全年新引育顶尖人才16名、各类领军人才528名，“三定三评”人才分类评价模式扩面至12个产业领域。"
    )
    got = figures(matcher, art(text, published="2025-01-20", title="2024年我市新引进35岁以下大学生37.2万人"))
    assert sorted(got) == [
        ("tgt-graduates-350k", 37.2, "万名", "2024-12-31"),
        ("tgt-leading-talent-500", 528, "名", "2024-12-31"),
        ("tgt-top-talent-15", 16, "名", "2024-12-31"),
    ]
    # The same list in mid-year (no review window) or after a year-opening goal gives nothing.
    assert figures(matcher, art(text.split("\n")[1], published="2024-07-20")) == []
    goal = "2025年，全市力争新引进35岁以下大学生35万名。\n全年新引育顶尖人才16名、各类领军人才528名。"
    assert figures(matcher, art(goal, published="2025-01-20")) == []


def test_a_ranking_is_not_a_scope(matcher):
    # 全国前列 ranks the city; 全国 as a scope (a national count) still takes the figure.
    ranked = "杭州人才净流入率保持全国前列。\n过去一年，新引进35岁以下大学生36.2万名。"
    assert figures(matcher, art(ranked, published="2025-01-10")) == [("tgt-graduates-350k", 36.2, "万名", "2024-12-31")]
    national = "杭州人才工作会议召开。\n过去一年，全国新引进35岁以下大学生36.2万名。"
    assert figures(matcher, art(national, published="2025-01-10")) == []
