#!/usr/bin/env python3
"""Generate a text-heavy CSV file for benchmarking CSV-to-Parquet converters.

Standalone: Python 3.11 standard library only. Written independently of the
project's own test-data generator, so that it can be used as a cross-check.

Usage
-----
    python3 scripts/textgen.py --size 512MiB --seed 1 \
        [--quotes Q] [--unicode U] [--field-len L] [--quiet] OUT

OUT is a file path, or ``-`` for stdout. A one-line summary (records, bytes,
measured quoting share, time) goes to stderr unless --quiet is given.

Parameters
----------
--size SIZE     Target output size. Plain bytes or a number with a suffix
                B, KiB, MiB, GiB, TiB (case-insensitive, e.g. ``20MiB``,
                ``1.5GiB``). The header counts toward the size; the generator
                stops after the first whole record that makes the output reach
                SIZE bytes, so the file is SIZE bytes plus less than one record.
--seed N        Integer seed (default 1). All randomness comes from a single
                ``random.Random(N)``, so the output is byte-for-byte identical
                for the same seed and parameters. The text pools do not depend
                on --size, so a smaller file is a prefix of a larger one
                generated with the same seed and other parameters.
--quotes Q      0..1, default 0.3. The share of free-text values (``subject``
                and ``message``) that need quoting: they contain a comma, a
                double quote (written doubled, ``""``, inside the quoted field),
                or an embedded newline (LF; about 1 in 10 of the newlines is a
                CRLF). Edge cases are included on purpose: values ending with a
                double quote (written as a doubled quote right before the
                closing quote, i.e. three quote characters), a newline
                right after a double quote, values starting with a quote,
                leading/trailing newlines, and tiny values such as a lone ``"``
                or a lone newline. Values that need no quoting are written
                unquoted. Empty messages (2%) never need quoting, so the
                measured share for ``message`` is min(Q, 0.98).
--unicode U     0..1, default 0.15. The share of words (in subject and message,
                also in the author-handle and tag pools) drawn from non-ASCII
                vocabularies: Latin-1 accented words, Cyrillic, Greek, CJK
                (Chinese/Japanese, including a few 4-byte supplementary-plane
                ideographs), Korean Hangul, Arabic, Hebrew, Devanagari, Thai and
                emoji (including skin-tone modifiers, ZWJ sequences, flags and
                variation selectors), i.e. 2-, 3- and 4-byte UTF-8 sequences.
                With U=0 the file is pure ASCII.
--field-len L   Average length in characters of ``message`` (default 60),
                empty values included. Per record the target length is drawn
                from an exponential distribution (mean L/0.98 for the non-empty
                values), capped at 8*L, and cut at a word boundary (so a
                non-empty value has at least one word); about 2% of the values
                are empty.

Columns (a header line comes first; 9 columns in this order)
-------------------------------------------------------------
event_id  increasing integer starting at 1000000, mostly +1, with random gaps
          (about 7% of steps skip 1..~1000 ids).
ts        ``YYYY-MM-DD HH:MM:SS`` starting at 2023-01-01 00:00:00, strictly
          increasing by a jittered step of 1..12 seconds (mean ~3 s).
author    one of ~20,000 generated handles (e.g. ``maria_lopez``,
          ``kovak.b42``; a share ~U uses non-ASCII names).
lang      one of 12 language codes (en, es, de, fr, pt, it, nl, ru, el, ja,
          zh, ar), skewed towards ``en``.
subject   short text of 2-8 words; quoted only when needed (share Q).
message   long free text as described under --field-len / --quotes /
          --unicode; 2% empty.
rating    decimal with one decimal place in 0.0..5.0 (skewed high); 3% empty.
tags      1-4 distinct words from a 300-word pool joined by ``|``.
visits    heavy-tailed integer (log-scale) in 0..9,999,999; 1% empty.

Empty means nothing between the delimiters (a null), never ``""``.

Format: RFC 4180. A value is quoted iff it contains a comma, a double quote,
CR or LF; a double quote inside is doubled. Records end with LF (a CRLF can
only occur inside a quoted value). Encoding UTF-8, no BOM.

Implementation notes (performance): a large word corpus (~8M characters) is
built once from Zipf-weighted vocabularies; free text is sliced out of it at
word boundaries; other columns come from pre-built pools; records are built
with one f-string each and written in ~1 MiB batches encoded once.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import math
import os
import random
import re
import sys
import time
from array import array
from bisect import bisect_left

HEADER = "event_id,ts,author,lang,subject,message,rating,tags,visits\n"

# --------------------------------------------------------------------------
# Vocabularies (none of these contain ',', '"', CR, LF or '|').
# --------------------------------------------------------------------------

COMMON_EN = """
the of and to a in is it you that he was for on are with as I his they be at
one have this from or had by hot word but what some we can out other were all
there when up use your how said an each she which do their time if will way
about many then them write would like so these her long make thing see him two
has look more day could go come did number sound no most people my over know
water than call first who may down side been now find any new work part take
get place made live where after back little only round man year came show
every good me give our under name very through just form sentence great think
say help low line differ turn cause much mean before move right boy old too
same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men
change went light kind off need house picture try us again animal point mother
world near build self earth father head stand own page should country found
answer school grow study still learn plant cover food sun four between state
keep eye never last let thought city tree cross farm hard start might story saw
far sea draw left late run don't while press close night real life few north
open seem together next white children begin got walk example ease paper group
always music those both mark often letter until mile river car feet care second
book carry took science eat room friend began idea fish mountain stop once base
hear horse cut sure watch color face wood main enough plain girl usual young
ready above ever red list though feel talk bird soon body dog family direct
pose leave song measure door product black short numeral class wind question
happen complete ship area half rock order fire south problem piece told knew
pass since top whole king space heard best hour better true during hundred five
remember step early hold west ground interest reach fast verb sing listen six
table travel less morning ten simple several vowel toward war lay against
pattern slow center love person money serve appear road map rain rule govern
pull cold notice voice unit power town fine certain fly fall lead cry dark
machine note wait plan figure star box noun field rest correct able pound done
beauty drive stood contain front teach week final gave green oh quick develop
ocean warm free minute strong special mind behind clear tail produce fact
street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold possible
plane stead dry wonder laugh thousand ago ran check game shape equate miss
brought heat snow tire bring yes distant fill east paint language among isn't
it's we're can't won't I'm you're they've server latency query parquet column
schema pipeline deploy cache buffer thread kernel cluster bucket shard replica
""".split()

SYL_ONSET = ("b c d f g h j k l m n p r s t v w z br cr dr fr gr pr tr bl cl fl "
             "gl pl sl st sp sk sn sm sh ch th ph wh qu").split()
SYL_VOWEL = "a e i o u a e i o u ai ea ee oo ou ie io y".split()
SYL_CODA = [""] * 6 + "n r s t l m nd rt st ck ng sh x".split()

LATIN1 = """
café über niño façade crème brûlée Straße größer señora açúcar coração naïve
déjà résumé fiancée jalapeño São Zürich Ålesund smørrebrød øl æble mañana
pingüino élan garçon Müller Köln Ärger décor là où être très été français
español Ñandú Bäckerei Grüße Füße Mädchen schön fünf señal año acción canción
corazón información también después más qué sí île forêt hôtel Noël Zoë Björk
Øresund kø skål ça déçu reçu Ölfarbe Übung Älter tö¿ ¡olé! cañón pâté rôle
""".split()
CYRILLIC = """
привет мир город время человек жизнь день рука работа слово место вопрос
сторона страна голова дело система друг глаз вода земля ночь дом книга улица
окно любовь память ёлка щука съезд Москва Киев данные файл сервер запрос
""".split()
GREEK = """
καλημέρα κόσμος αγάπη θάλασσα ήλιος νερό ψωμί φίλος σπίτι δρόμος χρόνος ζωή
λόγος ψυχή ελευθερία Αθήνα ευχαριστώ ναι όχι δεδομένα αρχείο
""".split()
CJK = """
你好 世界 中国 数据 文件 测试 性能 时间 问题 天气 学习 朋友 东京 日本語 ありがとう
こんにちは カタカナ ひらがな 漢字 東京都 大阪 寿司 ラーメン 𠀋 𩸽 𠮷野家 コーヒー 電車
""".split()
HANGUL = "한국어 안녕하세요 서울 감사합니다 사랑 데이터 파일 시간".split()
ARABIC = "مرحبا عالم كتاب مدينة سلام شكرا بيانات ملف وقت الحب القمر الشمس مدرسة".split()
HEBREW = "שלום עולם תודה ספר בית אהבה נתונים".split()
DEVANAGARI = "नमस्ते दुनिया भारत पानी धन्यवाद किताब समय".split()
THAI = "สวัสดี ขอบคุณ ภาษาไทย กรุงเทพ ข้อมูล".split()
EMOJI = """
😀 😂 🎉 🚀 🔥 👍 👍🏽 ❤️ ✨ 🙏 💯 🤔 😅 🥳 🍕 ☕ 🌍 ⚡ ✅ ❌ 👨‍👩‍👧 🏳️‍🌈 🇯🇵 🇩🇪 🐍 📈
💾 😭 🤷‍♀️ 🧵
""".split()

CYR_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
GREEK_LETTERS = "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώ"
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
HEBREW_LETTERS = "אבגדהוזחטיכלמנסעפצקרשת"
LATIN1_VOWELS = {"a": "àáâäåã", "e": "èéêë", "i": "ìíîï", "o": "òóôöõø",
                 "u": "ùúûü", "y": "ýÿ", "n": "ñ", "c": "ç", "s": "ß"}

# script name, weight among non-ASCII words
SCRIPT_WEIGHTS = [("latin1", 28), ("cyrillic", 18), ("cjk", 14), ("greek", 8),
                  ("emoji", 8), ("arabic", 7), ("hangul", 6), ("hebrew", 4),
                  ("devanagari", 4), ("thai", 3)]

LANGS = [("en", 40), ("es", 9), ("de", 8), ("fr", 7), ("pt", 5), ("it", 4),
         ("nl", 3), ("ru", 7), ("el", 2), ("ja", 6), ("zh", 6), ("ar", 3)]

FIRST_NAMES = """
maria john anna james li wei emma noah olivia liam ava lucas mia ethan sofia
mateo yuki hiro ahmed fatima ivan olga nikos eleni pierre marie hans greta
juan lucia pedro ana giulia marco sanne daan omar leila raj priya chen mei
kim jin sara david paul laura tom nina alex sam chris jordan taylor robin
""".split()
LAST_NAMES = """
smith lopez garcia muller schmidt rossi dubois silva kovac novak ivanov petrov
papadopoulos tanaka suzuki wang zhang kim park nguyen haddad cohen patel singh
jansen devries berg nielsen andersen moreau bernard costa santos oconnor walsh
""".split()
FIRST_NAMES_U = "józef zoë björn søren françois josé ñusta jürgen ирина дмитрий γιώργος 太郎 明 민준 فاطمة".split()


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([KMGT]iB|B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r} (use bytes or a B/KiB/MiB/GiB suffix)")
    mult = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
            "tib": 1 << 40}[(m.group(2) or "").lower()]
    return int(float(m.group(1)) * mult)


def unit_float(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in 0..1")
    return v


def positive_float(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text} must be > 0")
    return v


# --------------------------------------------------------------------------
# Pool construction
# --------------------------------------------------------------------------

def build_ascii_vocab(rng: random.Random) -> tuple[list[str], list[float]]:
    """Common English words first, then ~6000 pseudo-words; Zipf weights."""
    seen = set(COMMON_EN)
    words = list(COMMON_EN)
    pseudo = []
    while len(pseudo) < 6000:
        n = rng.choice((1, 1, 2, 2, 2, 3))
        w = "".join(rng.choice(SYL_ONSET) + rng.choice(SYL_VOWEL) + rng.choice(SYL_CODA)
                    for _ in range(n))
        if w not in seen:
            seen.add(w)
            pseudo.append(w)
    words += pseudo
    cum = list(itertools.accumulate(1.0 / (i + 3.0) ** 0.95 for i in range(len(words))))
    return words, cum


def build_unicode_scripts(rng: random.Random, ascii_pseudo: list[str]) -> dict[str, list[str]]:
    """Hand-written words plus synthesized ones, per script."""
    def synth(letters, lo, hi, n):
        return ["".join(rng.choice(letters) for _ in range(rng.randint(lo, hi)))
                for _ in range(n)]

    def synth_range(lo_cp, hi_cp, lo, hi, n):
        return ["".join(chr(rng.randint(lo_cp, hi_cp)) for _ in range(rng.randint(lo, hi)))
                for _ in range(n)]

    latin1_syn = []
    for w in rng.sample(ascii_pseudo, 400):
        chars = list(w)
        idx = [i for i, c in enumerate(chars) if c in LATIN1_VOWELS]
        if not idx:
            continue
        for i in rng.sample(idx, min(len(idx), rng.randint(1, 2))):
            chars[i] = rng.choice(LATIN1_VOWELS[chars[i]])
        latin1_syn.append("".join(chars))
    return {
        "latin1": LATIN1 * 3 + latin1_syn,
        "cyrillic": CYRILLIC * 3 + synth(CYR_LETTERS, 3, 10, 300),
        "greek": GREEK * 3 + synth(GREEK_LETTERS, 3, 9, 200),
        "cjk": CJK * 3 + synth_range(0x4E00, 0x9FA5, 1, 3, 300)
        + synth_range(0x3041, 0x3093, 2, 5, 60) + synth_range(0x20000, 0x2A6D6, 1, 2, 20),
        "hangul": HANGUL * 3 + synth_range(0xAC00, 0xD7A3, 1, 3, 150),
        "arabic": ARABIC * 3 + synth(ARABIC_LETTERS, 3, 8, 150),
        "hebrew": HEBREW * 3 + synth(HEBREW_LETTERS, 3, 7, 80),
        "devanagari": DEVANAGARI,
        "thai": THAI,
        "emoji": EMOJI,
    }


class WordSource:
    """Draws words: ASCII (Zipf) with probability 1-U, else non-ASCII."""

    def __init__(self, rng: random.Random, unicode_share: float):
        self.rng = rng
        self.u = unicode_share
        self.ascii, self.ascii_cum = build_ascii_vocab(rng)
        self.scripts = build_unicode_scripts(rng, self.ascii[len(COMMON_EN):])
        self.script_lists = [self.scripts[name] for name, _ in SCRIPT_WEIGHTS]
        self.script_cum = list(itertools.accumulate(w for _, w in SCRIPT_WEIGHTS))

    def words(self, k: int) -> list[str]:
        rng = self.rng
        out = rng.choices(self.ascii, cum_weights=self.ascii_cum, k=k)
        if self.u > 0:
            rnd = rng.random
            u = self.u
            idx = [i for i in range(k) if rnd() < u]
            lists = rng.choices(self.script_lists, cum_weights=self.script_cum, k=len(idx))
            for i, lst in zip(idx, lists):
                out[i] = lst[int(rnd() * len(lst))]
        return out


def tech_token(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(0, 99999))
    if r < 0.45:
        return f"{rng.uniform(0, 100):.{rng.randint(1, 3)}f}"
    if r < 0.55:
        return f"{rng.randint(1, 100)}%"
    if r < 0.65:
        return f"${rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
    if r < 0.75:
        return f"v{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    if r < 0.85:
        return f"#{rng.randint(1, 9999)}"
    if r < 0.93:
        return (f"https://example.{rng.choice(['com', 'org', 'net', 'io'])}/"
                f"{rng.choice(['a', 'docs', 'p', 'item'])}/{rng.randint(1, 99999)}"
                f"?id={rng.randint(1, 999)}&ref={rng.choice(['x', 'y', 'z'])}")
    return f"user{rng.randint(1, 9999)}@example.com"


def build_corpus(rng: random.Random, ws: WordSource, n_chars: int) -> tuple[str, array]:
    """A long space-separated text with sentence punctuation, plus word starts."""
    n_words = n_chars // 6 + 1000
    rnd = rng.random
    # ASCII-only tech tokens first, then the unicode replacement (so the
    # share of non-ASCII words stays U).
    words = rng.choices(ws.ascii, cum_weights=ws.ascii_cum, k=n_words)
    for i in range(n_words):
        if rnd() < 0.02:
            words[i] = tech_token(rng)
    if ws.u > 0:
        u = ws.u
        idx = [i for i in range(n_words) if rnd() < u]
        lists = rng.choices(ws.script_lists, cum_weights=ws.script_cum, k=len(idx))
        for i, lst in zip(idx, lists):
            words[i] = lst[int(rnd() * len(lst))]
    # Sentences of 3..20 words: capitalized first word, closing punctuation.
    puncts = ["."] * 12 + ["?", "!", "...", ":", ";", "!!", "--"]
    pos = 0
    while pos < n_words:
        w = words[pos]
        words[pos] = w[:1].upper() + w[1:]
        end = pos + 2 + int(rnd() * 18)
        if end < n_words:
            words[end] = words[end] + puncts[int(rnd() * len(puncts))]
        pos = end + 1
    text = " ".join(words)
    starts = array("q", itertools.accumulate(itertools.chain((0,), (len(w) + 1 for w in words[:-1]))))
    return text, starts


def build_handles(rng: random.Random, ws: WordSource, n: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    seps = ["_", ".", "", "-"]
    pool_words = ws.words(4000)
    while len(out) < n:
        r = rng.random()
        if r < ws.u:
            first = rng.choice(FIRST_NAMES_U)
        else:
            first = rng.choice(FIRST_NAMES)
        r2 = rng.random()
        if r2 < 0.35:
            h = first + rng.choice(seps) + rng.choice(LAST_NAMES)
        elif r2 < 0.6:
            h = first + rng.choice(seps) + rng.choice(LAST_NAMES)[:1] + str(rng.randint(1, 999))
        elif r2 < 0.85:
            h = rng.choice(pool_words).lower() + rng.choice(seps) + str(rng.randint(1, 9999))
        else:
            h = rng.choice(pool_words).lower() + rng.choice(["_", ""]) + rng.choice(pool_words).lower()
        if h and h not in seen:
            seen.add(h)
            out.append(h)
    return out


def build_tag_pool(rng: random.Random, ws: WordSource, n: int) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < 300:
        for w in ws.words(50):
            w = w.lower()
            if w not in seen and "|" not in w:
                seen.add(w)
                words.append(w)
                if len(words) == 300:
                    break
    cum = list(itertools.accumulate(1.0 / (i + 2.0) for i in range(300)))
    pool = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        chosen: list[str] = []
        while len(chosen) < k:
            w = rng.choices(words, cum_weights=cum)[0]
            if w not in chosen:
                chosen.append(w)
        pool.append("|".join(chosen))
    return pool


def build_rating_pool(rng: random.Random) -> list[str]:
    pool = [""] * 30  # 3% empty
    for _ in range(970):
        x = rng.gauss(3.9, 1.1)
        x = min(5.0, max(0.0, x))
        pool.append(f"{round(x * 10) / 10:.1f}")
    rng.shuffle(pool)
    return pool


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

def generate(out, size: int, seed: int, quotes: float, unicode_share: float,
             field_len: float) -> dict:
    rng = random.Random(seed)
    rand = rng.random
    log = math.log

    ws = WordSource(rng, unicode_share)
    cap = max(1, int(8 * field_len))
    corpus_chars = max(8_000_000, 64 * cap)
    text, starts = build_corpus(rng, ws, corpus_chars)
    find = text.find
    # valid starts for message slices: leave room for the longest slice
    n_msg_starts = bisect_left(starts, len(text) - cap - 1000)
    n_subj_starts = len(starts) - 20
    handles = build_handles(rng, ws, 20_000)
    n_handles = len(handles)
    langs = [c for c, w in LANGS for _ in range(w)]
    n_langs = len(langs)
    tags = build_tag_pool(rng, ws, 1 << 16)
    n_tags = len(tags)
    ratings = build_rating_pool(rng)
    n_ratings = len(ratings)
    # timestamp step pool (seconds, >= 1, mean ~3, occasional bursts/pauses)
    steps = [1] * 30 + [2] * 25 + [3] * 18 + [4] * 10 + [5] * 7 + [6] * 4 + [8] * 3 + [12] * 3
    n_steps = len(steps)
    hms = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
    day0 = datetime.date(2023, 1, 1).toordinal()

    empty_thr = 0.02
    mean_nonempty = field_len / (1.0 - empty_thr)  # overall mean incl. empties = L
    quote_thr = empty_thr + quotes  # message: r < 0.02 empty, r < quote_thr quoted

    def newline() -> str:
        r = rand()
        if r < 0.115:  # ~1 in 10 of all line breaks (\n\n counts twice)
            return "\r\n"
        if r < 0.25:
            return "\n\n"
        return "\n"

    def special(v: str, depth: int = 0) -> str:
        """Return v modified to contain at least one of , " CR LF."""
        n = len(v)
        r = rand()
        if r < 0.40:  # comma at a word boundary
            p = find_sp(v, int(rand() * n))
            v = v + "," if p < 0 else v[:p] + "," + v[p:]
        elif r < 0.68:  # a word in double quotes
            p = find_sp(v, int(rand() * n))
            q = v.find(" ", p + 1)
            if q < 0:  # last word: value ends with a quote
                v = v[:p + 1] + '"' + v[p + 1:] + '"'
            else:
                v = v[:p + 1] + '"' + v[p + 1:q] + '"' + v[q:]
        elif r < 0.92:  # embedded newline replacing a space
            p = find_sp(v, int(rand() * n))
            v = v + newline() + "ok" if p < 0 else v[:p] + newline() + v[p + 1:]
        else:  # edge cases
            e = int(rand() * 7)
            if e == 0:    # ends with a quote: ...5"  ->  "...5"""
                v = v + '"'
            elif e == 1:  # whole value in quotes
                v = '"' + v + '"'
            elif e == 2:  # newline right after a quote
                p = find_sp(v, int(rand() * n))
                v = v + '"' + newline() if p < 0 else v[:p] + '"' + newline() + v[p + 1:]
            elif e == 3:  # leading or trailing newline
                v = newline() + v if rand() < 0.5 else v + newline()
            elif e == 4:  # tiny values
                v = ('"', ",", "\n", '""', "\r\n", ",,", '"\n"', '"",')[int(rand() * 8)]
            elif e == 5:  # ends with two quotes
                v = v + ' ""'
            else:         # starts with a quoted word, followed by a newline
                p = v.find(" ")
                v = '"' + v + '"\n' if p < 0 else '"' + v[:p] + '"\n' + v[p + 1:]
        if depth == 0 and rand() < 0.2:
            v = special(v, 1)
        return v

    def find_sp(v: str, start: int) -> int:
        p = v.find(" ", start)
        return v.rfind(" ") if p < 0 else p

    total = 0
    records = 0
    q_msg = 0
    q_subj = 0
    write = out.write

    hb = HEADER.encode()
    write(hb)
    total += len(hb)

    eid = 1_000_000
    sec = 0
    day = day0
    dayp = datetime.date.fromordinal(day).isoformat() + " "
    batch_n = 4096
    target_batch = 1 << 20
    done = total >= size

    while not done:
        lines: list[str] = []
        append = lines.append
        qm: list[int] = []
        qs: list[int] = []
        for k in range(batch_n):
            r = rand()
            if r < 0.93:
                eid += 1
            else:
                eid += 2 + int((r - 0.93) * 14000)
            sec += steps[int(rand() * n_steps)]
            if sec >= 86400:
                sec -= 86400
                day += 1
                dayp = datetime.date.fromordinal(day).isoformat() + " "
            # subject: 2..8 words
            r = rand()
            i = int(r * n_subj_starts)
            nw = 2 + int(rand() * 7)
            subj = text[starts[i]:starts[i + nw] - 1]
            if rand() < quotes:
                subj = '"' + special(subj).replace('"', '""') + '"'
                qs.append(k)
            # message
            r = rand()
            if r < empty_thr:
                msg = ""
            else:
                t = int(-log(1.0 - rand()) * mean_nonempty)
                if t > cap:
                    t = cap
                s = starts[int(rand() * n_msg_starts)]
                msg = text[s:find(" ", s + (t - 3 if t > 4 else 1))]
                if r < quote_thr:
                    msg = '"' + special(msg).replace('"', '""') + '"'
                    qm.append(k)
            u = rand()
            if u < 0.01:
                visits = ""
            else:
                x = (u - 0.01) * 1.0101010101
                visits = str(int(10.0 ** (7.0 * x * x)) - 1)
            append(f"{eid},{dayp}{hms[sec]},{handles[int(rand() * n_handles)]},"
                   f"{langs[int(rand() * n_langs)]},{subj},{msg},"
                   f"{ratings[int(rand() * n_ratings)]},{tags[int(rand() * n_tags)]},{visits}\n")
        data = "".join(lines).encode()
        if total + len(data) < size:
            write(data)
            total += len(data)
            records += batch_n
            q_msg += len(qm)
            q_subj += len(qs)
            batch_n = max(64, min(1 << 16, int(target_batch * batch_n / len(data))))
        else:
            # last batch: keep records up to the first one reaching the size
            keep = 0
            parts = []
            for line in lines:
                b = line.encode()
                parts.append(b)
                total += len(b)
                keep += 1
                if total >= size:
                    break
            write(b"".join(parts))
            records += keep
            q_msg += sum(1 for k in qm if k < keep)
            q_subj += sum(1 for k in qs if k < keep)
            done = True

    return {"records": records, "bytes": total, "quoted_message": q_msg,
            "quoted_subject": q_subj}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Generate a text-heavy CSV for CSV-to-Parquet benchmarks.",
        epilog="See the module docstring for the columns and details.")
    ap.add_argument("--size", type=parse_size, default=parse_size("512MiB"),
                    help="target size: bytes or B/KiB/MiB/GiB suffix (default 512MiB)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--quotes", type=unit_float, default=0.3,
                    help="share of free-text values needing quoting (default 0.3)")
    ap.add_argument("--unicode", type=unit_float, default=0.15,
                    help="share of words from non-ASCII vocabularies (default 0.15)")
    ap.add_argument("--field-len", type=positive_float, default=60.0,
                    help="average message length in characters (default 60)")
    ap.add_argument("--quiet", action="store_true", help="no summary on stderr")
    ap.add_argument("out", metavar="OUT", help="output path, or - for stdout")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    try:
        if args.out == "-":
            stats = generate(sys.stdout.buffer, args.size, args.seed, args.quotes,
                             args.unicode, args.field_len)
            sys.stdout.buffer.flush()
        else:
            with open(args.out, "wb", buffering=1 << 20) as f:
                stats = generate(f, args.size, args.seed, args.quotes,
                                 args.unicode, args.field_len)
    except BrokenPipeError:
        # reader went away (e.g. piped into head): exit quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    dt = time.perf_counter() - t0
    if not args.quiet:
        n = max(1, stats["records"])
        print(f"textgen: {stats['records']} records + header, {stats['bytes']} bytes "
              f"({stats['bytes'] / 2**20:.1f} MiB) in {dt:.1f} s "
              f"({stats['bytes'] / 2**20 / max(dt, 1e-9):.1f} MiB/s); quoted: "
              f"message {stats['quoted_message'] / n:.2%}, "
              f"subject {stats['quoted_subject'] / n:.2%}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
