"""sort: sort a list of words alphabetically, ignoring case.

The answer is the words in sorted order as a comma-separated list; it is
compared word by word, case-insensitively (the task tests ordering, not
copying case).

Axes (each makes the problem harder for a different reason):
- `length`: number of words; sorting cost grows faster than linearly and a
  longer answer has more places to drop or repeat a word.
- `case`: "none" (all lower case), "capitalised" (about half the words start
  with a capital) or "random" (every letter's case is a coin flip). Mixed case
  breaks the shortcut of character-code order, where "Zebra" sorts before
  "apple", and scrambles the tokenisation of familiar words.
- `prefix`: 0 draws words freely; k > 0 draws them in clusters that share
  their first k letters ("strain, strand, strange"), so deciding each
  comparison needs letters deeper into the word.
- `order`: "ascending" (A to Z) or "descending" (Z to A), which runs against
  the habitual direction.

Ground truth sorts the generated lower-case words (before any case
mutation) and then maps them back to their displayed spelling.
"""

from __future__ import annotations

import random
import re
from typing import Any

from contour.spec import answers
from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import UNBOUNDED, Instructions, Measure, Task, Test
from contour.tasks.registry import register

# About a thousand lower-case words, rich in shared prefixes (con-, pre-, str-,
# inter-, trans-, under-, ...) so that clusters sharing up to four letters
# exist. Letters only, all distinct; "and" is absent because answers may join
# the last two words with it.
WORDS: list[str] = sorted(set("""
able about absent absorb abstract accept access accident account accurate
acid acorn across act action active actor actual adapt add address adjust
admire admit adopt adult advance advice affair afford afraid after again
agent agree ahead aim air alarm album alert alien alike alive alley allow
almost alone along aloud alpha already also alter always amber amount
ample anchor ancient angel anger angle animal ankle annual answer antique
anxious apart apple april arch arctic area argue arm armor army around
arrange arrest arrive arrow art artist ash aside ask asleep aspect
bacon badge bake balance balcony ball bamboo banana band bank banner bar
barely bargain barn barrel base basic basket battle beach bean bear beauty
became because become bed beef before begin behave behind believe bell
belong below belt bench bend benefit berry best better between beyond
bicycle bird birth bitter black blade blame blanket blast bleak bless blind
blink block bloom blossom blue blunt blur blush board boat body boil bold
bolt bond bone bonus book boost border boring borrow boss bottle bottom
bounce bound bowl brain branch brand brass brave bread break breath breeze
brick bridge brief bright bring brisk broad broken bronze brother brown
brush bubble bucket budget buffalo build bulb bulk bullet bundle burden
cabin cable cactus cage cake calm camel camera camp canal cancel candle
candy cannon canoe canvas canyon capable capital captain car carbon card
cargo carpet carrot carry cart cartoon carve case cash castle casual
combat combine comfort comic command comment commerce common compact
company compare compass compete complete complex compose concert conclude
concrete condition conduct confirm conflict connect consider constant
contain content contest context continue contract control convert convince
copper coral corner correct cost cotton couch country couple course cousin
crack cradle craft crane crash crater crawl crazy cream credit creek crew
cricket crime crisp critic crop cross crouch crowd crucial cruel cruise
crumble crunch crush crystal cube culture cup cupboard curious current
dance danger daring dark dash daughter dawn deal debate decade decide
declare decline decorate decrease deer defend define degree delay deliver
demand denial dense depart depend deposit depth deputy derive describe
desert design desk detail detect develop device devote diagram diamond
diary diesel diet differ digital dignity dilemma dinner dinosaur direct
dirt disagree discover disease dish dismiss disorder display distance
divert divide doctor document dog doll dolphin domain donate donkey door
dose double dove draft dragon drama drastic draw dream dress drift drill
drink drip drive drop drum dry duck dumb dune during dust dutch duty dwarf
eager eagle early earn earth easily east easy echo ecology economy edge
edit educate effort egg eight either elbow elder electric elegant element
elephant elevator elite else embark embody embrace emerge emotion employ
empower empty enable enact end endless endorse enemy energy enforce engage
engine enhance enjoy enlist enough enrich enroll ensure enter entire entry
envelope episode equal equip era erase erode erosion error erupt escape
essay essence estate eternal ethics evidence evil evoke evolve exact
example excess exchange excite exclude excuse execute exercise exhaust
exhibit exile exist exit exotic expand expect expire explain expose
express extend extra eye
fabric face faculty fade faint faith fall false fame family famous fan
fancy fantasy farm fashion fat fatal father fatigue fault favorite feature
inch include income increase index indicate indoor industry infant inflict
inform inhale inherit initial inject injury inmate inner innocent input
inquiry insane insect inside inspire install intact interest interior
internal interval interview interrupt intersect into invest invite
involve iron island isolate issue item ivory
label labor ladder lady lake lamp language laptop large later latin laugh
laundry lava law lawn lawsuit layer lazy leader leaf learn leave lecture
left leg legal legend leisure lemon lend length lens leopard lesson letter
level liar liberty library license life lift light like limb limit link
lion liquid list little live lizard load loan lobster local lock logic
lonely long loop lottery loud lounge love loyal lucky luggage lumber lunar
lunch luxury
over overall overcome overlap overlook overnight overseas overtake overview
pact paddle page pair palace palm panda panel panic panther paper parade
parent park parrot party pass patch path patient patrol pattern pause pave
payment peace peanut pear peasant pelican pen penalty pencil people pepper
perfect permit person pet phone photo phrase physical piano picnic picture
piece pig pigeon pill pilot pink pioneer pipe pistol pitch pizza place
planet plastic plate play please pledge pluck plug plunge poem poet point
polar pole police pond pony pool popular portion position possible post
potato pottery poverty powder power practice praise predict prefer prepare
present pretty prevent previous price pride primary print priority prison
private prize problem process produce profit program project promote proof
property prosper protect proud provide public pudding pull pulp pulse
pumpkin punch pupil puppy purchase purity purpose purse push puzzle pyramid
stable stadium staff stage stairs stamp stand start state stay steak steel
stem step stereo stick still sting stock stomach stone stool story stove
strain strand strange stranger strap strategy straw stray stream street
strength stress stretch strict stride strike string strip stripe strive
stroke strong structure struggle student stuff stumble style subject submit
subway success such sudden suffer sugar suggest suit summer sun sunny
sunset super supply supreme sure surface surge surprise surround survey
suspect sustain swallow swamp swap swarm swear sweet swift swim swing
switch sword symbol symptom syrup system
trade traffic tragic train transfer transform transit translate transmit
transparent transport trap trash travel tray treat tree trend trial tribe
trick trigger trim trip trophy trouble truck true truly trumpet trust truth
try tube tuition tumble tuna tunnel turkey turn turtle twelve twenty twice
twin twist two type typical
ugly umbrella unable unaware uncle uncover under undergo underground
underline understand undertake underwater undo unfair unfold unhappy
uniform unique unit universe unknown unlock until unusual unveil update
upgrade uphold upon upper upset urban urge usage use used useful useless
usual utility
vacant vacuum vague valid valley valve van vanish vapor various vast
vault vehicle velvet vendor venture venue verb verify version very vessel
veteran viable vibrant vicious victory video view village vintage violin
virtual virus visa visit visual vital vivid vocal voice void volcano volume
vote voyage
wage wagon wait walk wall walnut want warfare warm warrior wash wasp waste
water wave way wealth weapon wear weasel weather web wedding weekend weird
welcome west wet whale what wheat wheel when where whip whisper wide width
wife wild will win window wine wing wink winner winter wire wisdom wise
wish witness wolf woman wonder wood wool word work world worry worth wrap
wreck wrestle wrist write wrong
yard year yellow you young youth zebra zero zone zoo
""".split()))

# For each prefix length k, the clusters of words sharing their first k
# letters (only clusters of two or more words are useful). Lists, not sets,
# so that sampling depends on nothing but the rng.
_MAX_PREFIX = 4


def _clusters(k: int) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for w in WORDS:
        if len(w) >= k:
            groups.setdefault(w[:k], []).append(w)
    return [groups[key] for key in sorted(groups) if len(groups[key]) >= 2]


_CLUSTERS = {k: _clusters(k) for k in range(1, _MAX_PREFIX + 1)}


def _draw(rng: random.Random, n: int, k: int) -> list[str]:
    """n distinct words; with k > 0, drawn a cluster at a time."""
    if k == 0:
        return rng.sample(WORDS, n)
    picked: list[str] = []
    clusters = list(_CLUSTERS[k])
    rng.shuffle(clusters)
    for cluster in clusters:
        if len(picked) >= n:
            break
        room = n - len(picked)
        if room == 1:
            # A lone word cannot share a prefix with anything; take it from a
            # cluster already used, else from any cluster.
            used = [w for c in clusters if set(c) & set(picked) for w in c if w not in picked]
            pool = used or cluster
            picked.append(rng.choice(sorted(pool)))
            break
        most = min(len(cluster), room, 6)
        take = rng.randint(2, most)
        if room - take == 1 and take < min(len(cluster), room):
            take += 1  # rather than leave a single word to place alone
        picked.extend(rng.sample(cluster, take))
    if len(picked) < n:  # more words than the clusters hold
        rest = sorted(set(WORDS) - set(picked))
        picked.extend(rng.sample(rest, n - len(picked)))
    rng.shuffle(picked)
    return picked


def _mutate(rng: random.Random, word: str, case: str) -> str:
    if case == "capitalised":
        return word.capitalize() if rng.random() < 0.5 else word
    if case == "random":
        return "".join(c.upper() if rng.random() < 0.5 else c for c in word)
    return word


def _upper_share(words: list[str]) -> float:
    letters = [c for w in words for c in w]
    return sum(c.isupper() for c in letters) / max(1, len(letters))


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@register
class Sort(Task):
    name = "sort"
    version = 2
    description = "Sort a list of words alphabetically, ignoring case."
    schema = ParamSchema({
        "length": Int(8, 2, 60, "number of words"),
        "case": Choice("none", ["none", "capitalised", "random"],
                       "case mutation applied to the displayed words"),
        "prefix": Int(0, 0, _MAX_PREFIX,
                      "words come in clusters sharing this many first letters (0: free)"),
        "order": Choice("ascending", ["ascending", "descending"], "sort direction"),
    })
    instructions = Instructions(
        direct="Sort the words as asked, ignoring case. Respond with only the sorted "
               "words as a comma-separated list: 'Final Answer: <word>, <word>, ...'.",
        cot="Sort the words as asked, ignoring case. Think step by step, then end with "
            "a line 'Final Answer: <word>, <word>, ...' giving the sorted words as a "
            "comma-separated list.",
    )

    blind_guess = UNBOUNDED     # the answer is an ordering of distinct words
    measures = {
        "length": Measure("words", lambda t: len(t.genresult["words"])),
        "case": Measure("upper-case share", lambda t: _upper_share(t.genresult["words"])),
        "prefix": Measure("shared prefix of neighbours", lambda t: t.genresult["mean_shared_prefix"]),
        "order": Measure("reverse order", lambda t: float(
            [w.casefold() for w in t.genresult["sorted"]]
            == sorted((w.casefold() for w in t.genresult["words"]), reverse=True))),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        words = _draw(rng, params["length"], params["prefix"])
        shown = [_mutate(rng, w, params["case"]) for w in words]
        descending = params["order"] == "descending"
        display = dict(zip(words, shown))
        ordered = sorted(words, reverse=descending)
        direction = ("in reverse alphabetical order (Z to A)" if descending
                     else "in alphabetical order (A to Z)")
        text = (f"Sort the following words {direction}, ignoring upper and lower case.\n"
                f"Words: {' '.join(shown)}")
        neighbours = [_shared_prefix(a, b) for a, b in zip(ordered, ordered[1:])]
        return Test(
            input=text,
            target=", ".join(display[w] for w in ordered),
            genresult={
                "words": shown,
                "sorted": [display[w] for w in ordered],
                "order": params["order"],
                "mutated": sum(1 for a, b in zip(words, shown) if a != b),
                "max_shared_prefix": max(neighbours, default=0),
                "mean_shared_prefix": round(sum(neighbours) / len(neighbours), 3)
                if neighbours else 0.0,
            },
        )

    def extract(self, response: str, test: Test) -> str | None:
        region = final_block(response)
        if region is None:
            return None
        cleaned = answers.strip_markup(region)
        # A preamble such as "The sorted list is:" ends in a colon; the
        # words themselves never contain one.
        cleaned = cleaned.rsplit(":", 1)[-1].strip()
        return cleaned if _TOKEN.search(cleaned) else None

    def normalize(self, answer: str, test: Test) -> str:
        tokens = [t.casefold() for t in _TOKEN.findall(answer)]
        if "and" not in {w.casefold() for w in test.genresult.get("words", [])}:
            tokens = [t for t in tokens if t != "and"]
        return " ".join(tokens)


_TOKEN = re.compile(r"[A-Za-z]+")
_FINAL = re.compile(r"final\s+answer\s*(?:is)?\s*[:：=]?", re.IGNORECASE)


def final_block(text: str) -> str | None:
    """Like answers.answer_region, but a marker alone on its line takes the
    whole block of non-empty lines after it, so a one-word-per-line or
    numbered list is read in full."""
    if not text:
        return None
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    markers = list(_FINAL.finditer(text))
    if not markers:
        return answers.answer_region(text)
    rest = text[markers[-1].end():].splitlines()
    first = rest[0].strip().strip("*_").strip() if rest else ""
    if first:
        boxed = answers.boxed_contents(first)
        return boxed[-1] if boxed else first
    block: list[str] = []
    for line in rest[1:]:
        line = line.strip()
        if not line.strip("*_"):
            if block:
                break
            continue
        # Drop list markers ("1.", "-", "*") at the start of a line.
        block.append(re.sub(r"^(?:\d+[.)]|[-*•])\s*", "", line))
    if not block:
        return None
    joined = ", ".join(block)
    boxed = answers.boxed_contents(joined)
    return boxed[-1] if boxed else joined
