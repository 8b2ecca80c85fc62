"""Write the sample Slack export in `examples/sample-export/` (or a .zip) from hand-written templates.

    python examples/make_sample_export.py                      # folder form, the committed copy
    python examples/make_sample_export.py --zip /tmp/sample.zip
    python examples/make_sample_export.py --profiles           # also rewrite profiles.json / .csv

Deterministic: the same seed gives byte-identical output. Four weeks of October 2026 in a
40-person engineering community spread over seven time zones. People post in their own working
hours; questions are mostly answered by those with the matching expertise, sometimes by others,
and some are never answered. The shapes follow Slack's standard export (users.json, channels.json,
groups.json, dms.json, mpims.json, one folder per conversation with a JSON list per UTC day).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import shutil
import string
import sys
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sample_content as content

HERE = Path(__file__).resolve().parent
START = date(2026, 10, 1)
DAYS = 28
TEAM = "T07NORTHWND"
EXPORT_AT = datetime(2026, 10, 31, 12, tzinfo=UTC)
Json = dict[str, Any]


@dataclass
class Person:
    id: str
    handle: str
    real_name: str
    display_name: str
    tz: str
    title: str
    expertise: list[str]
    interests: list[str]
    activity: float
    guest: bool = False
    deleted: bool = False
    joins_on: int = 0
    leaves_on: int = DAYS
    avatar: str = ""
    channels: set[str] = field(default_factory=set)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def active(self, day: int) -> bool:
        return self.joins_on <= day < self.leaves_on


class Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people: list[Person] = []
        self.by_handle: dict[str, Person] = {}
        self.channel_ids = {name: spec[0] for name, spec in content.CHANNELS.items()}
        self.messages: dict[str, list[Json]] = {}  # folder -> messages
        self.threads: dict[int, list[Json]] = {}  # id(parent) -> replies
        self.used_ts: set[tuple[str, str]] = set()
        self._make_people()

    # -- ids and time ---------------------------------------------------------------------------

    def _id(self, prefix: str, n: int = 9) -> str:
        return prefix + "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(n))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def local(self, person: Person, day: int, start: float = 9.0, end: float = 18.0) -> float:
        """A UTC time on local calendar day `day` for `person`, within their working hours."""
        hour = self.rng.uniform(start, end)
        d = START + timedelta(days=day)
        naive = datetime(d.year, d.month, d.day) + timedelta(hours=hour)
        return naive.replace(tzinfo=ZoneInfo(person.tz)).timestamp()

    def later(self, person: Person, after: float, lo: float, hi: float) -> float:
        """When `person` would plausibly reply: `lo`..`hi` minutes later, in their waking hours."""
        t = after + self.rng.uniform(lo, hi) * 60
        local = datetime.fromtimestamp(t, ZoneInfo(person.tz))
        if 8 <= local.hour < 21 and local.weekday() < 5:
            return t
        if self.rng.random() < 0.15:  # some people do answer at night or at the weekend
            return t
        nxt = local.date() + timedelta(days=1 if local.hour >= 8 else 0)
        while nxt.weekday() >= 5:
            nxt += timedelta(days=1)
        start = datetime(nxt.year, nxt.month, nxt.day, tzinfo=ZoneInfo(person.tz))
        return start.timestamp() + self.rng.uniform(9, 11) * 3600

    def weekday(self, day: int) -> bool:
        return (START + timedelta(days=day)).weekday() < 5

    # -- people and channels --------------------------------------------------------------------

    def _make_people(self) -> None:
        for spec in content.MEMBERS:
            person = Person(
                id=self._id("U07"),
                handle=spec["handle"],
                real_name=spec["real_name"],
                display_name=spec["display_name"],
                tz=spec["tz"],
                title=spec["title"],
                expertise=list(spec["expertise"]),
                interests=list(spec["interests"]),
                activity=spec["activity"],
                guest=spec.get("guest", False),
                deleted=spec.get("deleted", False),
                joins_on=spec.get("joins_on", 0),
                avatar="".join(self.rng.choice("0123456789abcdef") for _ in range(12)),
            )
            if person.deleted:
                person.leaves_on = 13
            self.people.append(person)
            self.by_handle[person.handle] = person
        self.bots = {
            "deploybot": ("B07DEPLOY1", self._id("U07")),
            "standup": ("B07STANDUP", self._id("U07")),
        }
        for person in self.people:
            topics = set(person.expertise) | set(person.interests)
            if person.guest:
                person.channels = {"frontend", "help"}
                continue
            person.channels = {"general", "help"}
            if self.rng.random() < 0.85:
                person.channels.add("random")
            for name, (_, _, channel_topics, private) in content.CHANNELS.items():
                if not private and topics & set(channel_topics):
                    person.channels.add(name)
            if person.handle in content.LEADS:
                person.channels.add("leads")
            if "frontend" not in person.expertise and self.rng.random() < 0.2:
                person.channels.add("eng")
        # Membership changes during the month (the matching join/leave messages are in _special_events).
        self.by_handle["ben"].channels.add("data")
        self.by_handle["sam.t"].channels.discard("frontend")
        self.joins_late = {
            ("ben", "data"): 7,
            ("noor.contractor", "frontend"): 2,
            ("noor.contractor", "help"): 2,
        }
        self.leaves = {("sam.t", "frontend"): 16}

    def members(self, channel: str, day: int) -> list[Person]:
        out = []
        for p in self.people:
            key = (p.handle, channel)
            was_in = channel in p.channels or key in self.leaves
            if not was_in or not p.active(day):
                continue
            if day < self.joins_late.get(key, 0) or day >= self.leaves.get(key, DAYS):
                continue
            out.append(p)
        return out

    def pick(self, people: list[Person], k: int = 1) -> list[Person]:
        pool = list(people)
        out: list[Person] = []
        while pool and len(out) < k:
            chosen = self.rng.choices(pool, weights=[p.activity for p in pool])[0]
            pool.remove(chosen)
            out.append(chosen)
        return out

    # -- message shapes -------------------------------------------------------------------------

    def _ts(self, folder: str, t: float) -> str:
        ts = f"{t:.6f}"
        while (folder, ts) in self.used_ts:
            t += 0.000001
            ts = f"{t:.6f}"
        self.used_ts.add((folder, ts))
        return ts

    def post(self, folder: str, person: Person, t: float, text: str, **extra: Any) -> Json:
        """A message typed by a person: mrkdwn `text` plus the rich-text blocks Slack adds."""
        ts = self._ts(folder, t)
        msg: Json = {
            "client_msg_id": self._uuid(),
            "type": "message",
            "text": text,
            "user": person.id,
            "ts": ts,
        }
        msg.update(extra)
        msg["blocks"] = [
            {"type": "rich_text", "block_id": self._id("", 5).lower(), "elements": rich_text(text)}
        ]
        msg["team"] = TEAM
        msg["user_team"] = TEAM
        msg["source_team"] = TEAM
        msg["user_profile"] = {
            "avatar_hash": person.avatar,
            "first_name": person.real_name.split()[0],
            "real_name": person.real_name,
            "display_name": person.display_name,
            "team": TEAM,
            "name": person.handle,
            "is_restricted": person.guest,
            "is_ultra_restricted": False,
        }
        if self.rng.random() < 0.06 and "subtype" not in extra:
            msg["edited"] = {
                "user": person.id,
                "ts": f"{t + self.rng.uniform(30, 900):.6f}".split(".")[0] + ".000000",
            }
        self.messages.setdefault(folder, []).append(msg)
        return msg

    def system(self, folder: str, t: float, subtype: str, person: Person, text: str, **extra: Any) -> Json:
        msg: Json = {
            "type": "message",
            "subtype": subtype,
            "ts": self._ts(folder, t),
            "user": person.id,
            "text": text,
        }
        msg.update(extra)
        self.messages.setdefault(folder, []).append(msg)
        return msg

    def reply(self, parent: Json, folder: str, person: Person, t: float, text: str, **extra: Any) -> Json:
        msg = self.post(
            folder, person, t, text, thread_ts=parent["ts"], parent_user_id=parent.get("user"), **extra
        )
        self.threads.setdefault(id(parent), []).append(msg)
        parent.setdefault("_replies", []).append(msg)
        return msg

    def react(self, msg: Json, channel: str, day: int, names: list[str], chance: float) -> None:
        if self.rng.random() >= chance:
            return
        reactions = []
        for name in self.rng.sample(names, k=self.rng.randint(1, min(2, len(names)))):
            users = [p.id for p in self.pick(self.members(channel, day), self.rng.randint(1, 5))]
            reactions.append({"name": name, "users": users, "count": len(users)})
        msg["reactions"] = reactions

    # -- the month ------------------------------------------------------------------------------

    def build(self) -> None:
        questions = [(topic, q) for topic, spec in content.TOPICS.items() for q in spec["questions"]]
        articles = [(topic, a) for topic, spec in content.TOPICS.items() for a in spec["articles"]]
        self.rng.shuffle(questions)
        self.rng.shuffle(articles)
        weekdays = [d for d in range(DAYS) if self.weekday(d)]
        ask_days = dict(zip(self.rng.sample(weekdays[1:], len(content.ASKS)), content.ASKS, strict=True))
        tombstone_day = weekdays[9]
        broadcast_day = weekdays[4]

        self._special_events()
        for day in range(DAYS):
            if self.weekday(day):
                for _ in range(self.rng.choice([1, 1, 2, 2, 3])):
                    if articles:
                        self.share(day, *articles.pop())
                for _ in range(self.rng.choice([1, 2, 2, 3])):
                    if questions:
                        self.question(
                            day,
                            *questions.pop(),
                            tombstone=day == tombstone_day,
                            broadcast=day == broadcast_day,
                        )
                        tombstone_day = -1 if day == tombstone_day else tombstone_day
                        broadcast_day = -1 if day == broadcast_day else broadcast_day
                for _ in range(self.rng.randint(3, 6)):
                    self.chatter(
                        day,
                        self.rng.choice(
                            ["random", "random", "general", "eng", "infra", "data", "frontend", "leads"]
                        ),
                    )
                self.deploys(day)
                if day in ask_days:
                    self.ask(day, *ask_days[day])
            else:
                if articles and self.rng.random() < 0.4:
                    self.share(day, *articles.pop())
                for _ in range(self.rng.randint(0, 2)):
                    self.chatter(day, "random")
            if (START + timedelta(days=day)).weekday() == 0:
                self.standup(day)
        while questions:  # anything left over lands in the last week
            self.question(self.rng.choice(weekdays[-5:]), *questions.pop())
        while articles:
            self.share(self.rng.choice(weekdays[-5:]), *articles.pop())
        self._reshare()
        self._who_knows()

    def share(self, day: int, topic: str, article: tuple[str, str, str, str]) -> None:
        url, title, desc, site = article
        channels = [c for c, spec in content.CHANNELS.items() if topic in spec[2] and not spec[3]] or [
            "general"
        ]
        channel = self.rng.choice([*channels, "random"] if self.rng.random() < 0.2 else channels)
        fans = [p for p in self.members(channel, day) if topic in p.interests or topic in p.expertise]
        sharer = self.pick(fans or self.members(channel, day))[0]
        t = self.local(sharer, day, 10, 20) if not self.weekday(day) else self.local(sharer, day)
        template = self.rng.choice(content.SHARE_COMMENTS)
        text = esc(template).replace("{topic_words}", content.TOPIC_WORDS[topic]).replace("{url}", f"<{url}>")
        unfurl: Json = {
            "from_url": url,
            "service_icon": "https://" + url.split("/")[2] + "/favicon.ico",
            "id": 1,
            "original_url": url,
            "fallback": f"{site}: {title}",
            "title": title,
            "title_link": url,
            "service_name": site,
        }
        if self.rng.random() < 0.9:
            unfurl["text"] = desc
        msg = self.post(channel, sharer, t, text, attachments=[unfurl])
        self.react(msg, channel, day, ["+1", "eyes", "bookmark", "fire", "100"], 0.45)
        if self.rng.random() < 0.35:
            others = [p for p in self.members(channel, day) if p is not sharer]
            for person in self.pick(others, self.rng.randint(1, 2)):
                line = self.rng.choice(content.SHARE_REPLIES).replace(
                    "{topic_words}", content.TOPIC_WORDS[topic]
                )
                self.reply(msg, channel, person, self.later(person, t, 10, 300), esc(line))

    def question(
        self,
        day: int,
        topic: str,
        q: tuple[str, list[str], str | None],
        tombstone: bool = False,
        broadcast: bool = False,
    ) -> None:
        text, answers, follow_up = q
        home = [c for c, spec in content.CHANNELS.items() if topic in spec[2] and not spec[3]]
        channel = self.rng.choice(home) if home and self.rng.random() < 0.55 else "help"
        present = self.members(channel, day)
        curious = [p for p in present if topic in p.interests and topic not in p.expertise]
        asker = self.pick(curious or [p for p in present if topic not in p.expertise])[0]
        experts = [p for p in present if topic in p.expertise and p is not asker]
        others = [p for p in present if topic not in p.expertise and p is not asker]
        t = self.local(asker, day)
        body = esc(text)
        if experts and self.rng.random() < 0.12:
            body = f"{self.pick(experts)[0].mention} you might know this one? {body}"
        msg = self.post(channel, asker, t, body)

        roll = self.rng.random()
        if tombstone or broadcast:
            roll = 0.0
        if roll < 0.66 and experts:
            responders = self.pick(experts, self.rng.randint(1, min(len(answers), 3)))
        elif roll < 0.80 and experts and others:
            responders = self.pick(others) + self.pick(experts, min(len(answers), 2) - 1)
        elif roll < 0.88 and others:
            responders = self.pick(others)
        else:
            responders = []  # nobody answered
        last = t
        for i, person in enumerate(responders[: len(answers)]):
            answer = esc(answers[i])
            if topic not in person.expertise:
                answer = self.rng.choice(
                    ["Not my area, but ", "I might be wrong here, but ", "no expert, but "]
                ) + lower_first(answer)
            spare = [e for e in experts if e not in responders]
            if spare and self.rng.random() < 0.15:
                answer += f" cc {self.pick(spare)[0].mention} who knows this better than me"
            last = self.later(person, max(last, t), 4, 240)
            ans = self.reply(msg, channel, person, last, answer)
            self.react(ans, channel, day, ["pray", "white_check_mark", "100", "raised_hands"], 0.35)
        if responders and (follow_up or broadcast or self.rng.random() < 0.5):
            expert = next((p for p in responders if topic in p.expertise), responders[0])
            line = (
                esc(follow_up).replace("{expert}", expert.display_name)
                if follow_up
                else self.rng.choice(content.THANKS)
            )
            extra: Json = {}
            if broadcast:  # "Also send to #channel"
                extra = {
                    "subtype": "thread_broadcast",
                    "root": {"text": msg["text"], "user": asker.id, "ts": msg["ts"]},
                }
            self.reply(msg, channel, asker, self.later(asker, last, 5, 180), line, **extra)
        if tombstone:
            msg["_tombstone"] = True

    def ask(self, day: int, text: str, channel: str, topic: str, replies: list[str]) -> None:
        present = self.members(channel, day)
        asker = self.pick([p for p in present if topic in p.interests] or present)[0]
        t = self.local(asker, day)
        extra: Json = {}
        if "conference talk" in text:
            extra = {
                "files": [
                    file_obj(
                        self,
                        asker,
                        t,
                        "search-talk-draft-v2.pdf",
                        "Search talk — draft v2",
                        "pdf",
                        "application/pdf",
                        2_483_114,
                    )
                ],
                "upload": True,
                "display_as_bot": False,
            }
        msg = self.post(channel, asker, t, esc(text), **extra)
        helpers = [p for p in present if topic in p.expertise and p is not asker]
        for person, line in zip(self.pick(helpers, len(replies)), replies, strict=False):
            self.reply(msg, channel, person, self.later(person, t, 10, 360), esc(line))
        self.react(msg, channel, day, ["raised_hands", "heart", "+1"], 0.6)

    def chatter(self, day: int, channel: str) -> None:
        present = self.members(channel, day)
        if not present:
            return
        person = self.pick(present)[0]
        line = self.rng.choice(content.CHATTER[channel])
        t = self.local(person, day, 8, 19)
        msg = self.post(channel, person, t, esc(line))
        self.react(msg, channel, day, ["joy", "+1", "heart", "coffee", "eyes"], 0.3)
        if self.rng.random() < 0.2:
            other = self.pick([p for p in present if p is not person])
            if other:
                self.reply(
                    msg,
                    channel,
                    other[0],
                    self.later(other[0], t, 2, 60),
                    self.rng.choice(["haha same", "+1", "oh no", "count me in", "nice!"]),
                )

    def deploys(self, day: int) -> None:
        bot_id, _ = self.bots["deploybot"]
        dan = self.by_handle["dan.w"]
        for _ in range(self.rng.randint(1, 3)):
            service = self.rng.choice(["api", "web", "worker", "billing", "search"])
            version = f"v2.{day + 20}.{self.rng.randint(0, 9)}"
            by = self.pick(self.members("eng", day) or self.members("infra", day))[0]
            t = self.local(dan, day, 8, 17)
            self.messages.setdefault("infra", []).append(
                {
                    "type": "message",
                    "subtype": "bot_message",
                    "text": f"Deployed *{service}* `{version}` to *production* (by {by.mention})",
                    "ts": self._ts("infra", t),
                    "username": "deploybot",
                    "bot_id": bot_id,
                    "icons": {"emoji": ":rocket:"},
                    "attachments": [
                        {
                            "id": 1,
                            "color": "2eb886",
                            "fallback": f"{service} {version} deployed",
                            "fields": [
                                {"title": "Commit", "value": self._id("", 7).lower(), "short": True},
                                {"title": "Duration", "value": f"{self.rng.randint(2, 11)}m", "short": True},
                            ],
                        }
                    ],
                }
            )

    def standup(self, day: int) -> None:
        bot_id, bot_user = self.bots["standup"]
        hannah = self.by_handle["hannah"]
        t = self.local(hannah, day, 8.5, 8.6)
        text = "Happy Monday! What are you focusing on this week? Reply in the thread :thread:"
        msg: Json = {
            "type": "message",
            "text": text,
            "user": bot_user,
            "bot_id": bot_id,
            "app_id": "A07STANDUP",
            "bot_profile": {
                "id": bot_id,
                "app_id": "A07STANDUP",
                "name": "standup",
                "deleted": False,
                "team_id": TEAM,
            },
            "ts": self._ts("eng", t),
            "team": TEAM,
            "blocks": [{"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": text}}],
        }
        self.messages.setdefault("eng", []).append(msg)
        goals = [
            "Finishing the rate limiter PR and writing the runbook for it",
            "Migration dry run on staging, then the real one Thursday if it goes well",
            "Interviews most of Tuesday, reviews the rest of the week",
            "Onboarding docs, and pairing with the new folks",
            "Chasing the flaky integration tests, for real this time",
            "Cost report follow-ups and the egress mystery",
        ]
        for person in self.pick(self.members("eng", day), self.rng.randint(2, 4)):
            self.reply(msg, "eng", person, self.later(person, t, 20, 300), self.rng.choice(goals))

    def _special_events(self) -> None:
        """One-off things that real exports contain: joins, a leave, topic and purpose, a /me."""
        hannah, felix, noor = (
            self.by_handle["hannah"],
            self.by_handle["felix"],
            self.by_handle["noor.contractor"],
        )
        self.system(
            "help",
            self.local(hannah, 0, 9, 10),
            "channel_topic",
            hannah,
            f"{hannah.mention} set the channel topic: Ask anything. Answers in threads please :thread:",
            topic="Ask anything. Answers in threads please :thread:",
        )
        aisha = self.by_handle["aisha"]
        self.system(
            "data",
            self.local(aisha, 2, 10, 11),
            "channel_purpose",
            aisha,
            f"{aisha.mention} set the channel purpose: Pipelines, warehouse, analytics, ML",
            purpose="Pipelines, warehouse, analytics, ML",
        )
        priya = self.by_handle["priya"]
        for channel in ("frontend", "help"):
            self.system(
                channel,
                self.local(noor, 2, 9, 10),
                "channel_join",
                noor,
                f"{noor.mention} has joined the channel",
                inviter=priya.id,
            )
        for channel in sorted(felix.channels):
            self.system(
                channel,
                self.local(felix, 11, 9, 9.5),
                "channel_join",
                felix,
                f"{felix.mention} has joined the channel",
            )
        welcome = self.post(
            "general",
            hannah,
            self.local(hannah, 11, 9, 10),
            f"Please welcome {felix.mention} who joins the frontend team in Berlin today! :wave:",
        )
        for person in self.pick(self.members("general", 11), 4):
            if person is not hannah:
                self.reply(
                    welcome,
                    "general",
                    person,
                    self.later(person, float(welcome["ts"]), 5, 240),
                    self.rng.choice(
                        [
                            "Welcome Felix!",
                            "welcome aboard :tada:",
                            "Hi Felix, great to have you",
                            "Willkommen!",
                        ]
                    ),
                )
        ben = self.by_handle["ben"]
        self.system(
            "data", self.local(ben, 7, 9, 10), "channel_join", ben, f"{ben.mention} has joined the channel"
        )
        sam = self.by_handle["sam.t"]
        self.system(
            "frontend",
            self.local(sam, 16, 9, 17),
            "channel_leave",
            sam,
            f"{sam.mention} has left the channel",
        )
        lukas = self.by_handle["lukas"]
        self.system(
            "infra",
            self.local(lukas, 8, 10, 12),
            "me_message",
            lukas,
            "is heads-down on the cluster upgrade today, ping if urgent",
        )
        dan = self.by_handle["dan.w"]
        t = self.local(dan, 5, 10, 12)
        self.system(
            "infra",
            t,
            "file_share",
            dan,
            f"{dan.mention} uploaded a file: <https://northwind.slack.com/files/{dan.id}/F07GRAF01/p99.png|p99 after the pool change>",
            files=[
                file_obj(
                    self,
                    dan,
                    t,
                    "p99-after-pool-change.png",
                    "p99 after the pool change",
                    "png",
                    "image/png",
                    184_220,
                )
            ],
        )
        self.messages["general"].append(
            {
                "type": "message",
                "user": "USLACKBOT",
                "text": "Reminder: submit your expenses for September.",
                "ts": self._ts("general", self.local(hannah, 3, 9, 9.1)),
            }
        )
        # A private exchange: must never surface outside the people in it.
        maya = self.by_handle["maya"]
        self.dm = ("D07BENMAYA", [ben.id, maya.id])
        t = self.local(ben, 6, 10, 12)
        self.post(
            "D07BENMAYA",
            ben,
            t,
            "hey, can I ask something dumb about Postgres privately? how do I tell if a migration will lock the users table",
        )
        self.post(
            "D07BENMAYA",
            maya,
            self.later(maya, t, 5, 60),
            "not dumb at all! check which lock the ALTER takes in the docs table, and always set `lock_timeout` so it fails fast instead of queueing",
        )
        liam = self.by_handle["liam"]
        self.mpim = ("G07MPIMLDM", "mpdm-maya--dan.w--liam-1", [maya.id, dan.id, liam.id])
        t = self.local(liam, 9, 9, 11)
        self.post(
            "mpdm-maya--dan.w--liam-1",
            liam,
            t,
            "Are we still on for the staff sync? I can move it if the US morning is bad",
        )
        self.post("mpdm-maya--dan.w--liam-1", dan, self.later(dan, t, 30, 400), "works for me")

    def _who_knows(self) -> None:
        """ "Who knows about X?" asked in a channel, for the in-channel answers. On a random stream of its
        own, so that adding them left every other message of the sample as it was."""
        saved, self.rng = self.rng, random.Random(2026)
        try:
            for day, channel, handle, text in content.WHO_KNOWS:
                person = self.by_handle[handle]
                self.post(channel, person, self.local(person, day, 10, 16), text)
        finally:
            self.rng = saved

    def _reshare(self) -> None:
        """The same article shared again in another channel a week later: the 'already seen' case."""
        msgs = [m for m in self.messages["eng"] if m.get("attachments") and "subtype" not in m]
        if not msgs:
            return
        first = msgs[0]
        url = first["attachments"][0]["from_url"]
        day = int((float(first["ts"]) - datetime(2026, 10, 1, tzinfo=UTC).timestamp()) // 86400) + 7
        day = min(day, DAYS - 1)
        person = self.pick([p for p in self.members("data", day) if p.id != first["user"]])[0]
        self.post(
            "data",
            person,
            self.local(person, day),
            f"Reposting from #eng since it's relevant here too <{url}>",
            attachments=[dict(first["attachments"][0])],
        )

    # -- output ---------------------------------------------------------------------------------

    def files(self) -> dict[str, Any]:
        """Relative path -> JSON value, for the whole export."""
        out: dict[str, Any] = {}
        out["users.json"] = self._users()
        public, private = [], []
        created0 = int(datetime(2021, 3, 1, tzinfo=UTC).timestamp())
        for n, (name, (cid, purpose, _, is_private)) in enumerate(content.CHANNELS.items()):
            # Deactivated accounts drop out of member lists.
            members = [p.id for p in self.people if name in p.channels and not p.deleted]
            entry = {
                "id": cid,
                "name": name,
                "created": created0 + n * 86400 * 11,
                "creator": self.by_handle["hannah"].id,
                "is_archived": False,
                "is_general": name == "general",
                "members": members,
                "pins": [],
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {
                    "value": purpose,
                    "creator": self.by_handle["hannah"].id,
                    "last_set": created0 + n * 86400 * 11,
                },
            }
            if name == "help":
                entry["topic"] = {
                    "value": "Ask anything. Answers in threads please :thread:",
                    "creator": self.by_handle["hannah"].id,
                    "last_set": int(EXPORT_AT.timestamp()) - 86400 * 30,
                }
            (private if is_private else public).append(entry)
        out["channels.json"] = public
        out["groups.json"] = private
        dm_id, dm_members = self.dm
        out["dms.json"] = [{"id": dm_id, "created": created0 + 86400 * 400, "members": dm_members}]
        mp_id, mp_name, mp_members = self.mpim
        out["mpims.json"] = [
            {
                "id": mp_id,
                "name": mp_name,
                "created": created0 + 86400 * 500,
                "creator": mp_members[2],
                "is_archived": False,
                "members": mp_members,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {
                    "value": "Group messaging with: @maya @dan.w @liam",
                    "creator": mp_members[2],
                    "last_set": created0 + 86400 * 500,
                },
            }
        ]
        out["integration_logs.json"] = {
            "logs": [
                {
                    "user_id": self.by_handle["dan.w"].id,
                    "user_name": "dan.w",
                    "bot_id": self.bots["deploybot"][0],
                    "date": str(created0 + 86400 * 300),
                    "change_type": "added",
                    "scope": "incoming-webhook",
                    "service_id": "B07DEPLOY1",
                    "service_type": "Incoming WebHooks",
                    "reason": "",
                    "channel": "infra",
                },
                {
                    "user_id": self.by_handle["hannah"].id,
                    "user_name": "hannah",
                    "app_id": "A07STANDUP",
                    "app_type": "standup",
                    "date": str(created0 + 86400 * 320),
                    "change_type": "added",
                    "scope": "chat:write,channels:history",
                },
            ]
        }
        for folder, msgs in sorted(self.messages.items()):
            self._finish_threads(msgs)
            by_day: dict[str, list[Json]] = {}
            for m in sorted(msgs, key=lambda m: float(m["ts"])):
                by_day.setdefault(datetime.fromtimestamp(float(m["ts"]), UTC).date().isoformat(), []).append(
                    m
                )
            for day, day_msgs in by_day.items():
                out[f"{folder}/{day}.json"] = day_msgs
        return out

    def _finish_threads(self, msgs: list[Json]) -> None:
        for m in msgs:
            replies = m.pop("_replies", None)
            if not replies:
                continue
            replies.sort(key=lambda r: float(r["ts"]))
            users = list(dict.fromkeys(r["user"] for r in replies))
            m["thread_ts"] = m["ts"]
            m["reply_count"] = len(replies)
            m["reply_users_count"] = len(users)
            m["latest_reply"] = replies[-1]["ts"]
            m["reply_users"] = users
            m["replies"] = [{"user": r["user"], "ts": r["ts"]} for r in replies]
            m["is_locked"] = False
            m["subscribed"] = False
            if m.pop("_tombstone", False):
                for key in (
                    "client_msg_id",
                    "blocks",
                    "user_profile",
                    "edited",
                    "reactions",
                    "team",
                    "user_team",
                    "source_team",
                ):
                    m.pop(key, None)
                m.update(
                    {
                        "subtype": "tombstone",
                        "text": "This message was deleted.",
                        "user": "USLACKBOT",
                        "hidden": True,
                    }
                )
        for m in msgs:
            m.pop("_tombstone", None)

    def _users(self) -> list[Json]:
        users: list[Json] = []
        for p in self.people:
            zone = ZoneInfo(p.tz)
            offset = int(EXPORT_AT.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
            first, _, last = p.real_name.partition(" ")
            email = f"{p.handle.split('.')[0]}@{'contractor.example.org' if p.guest else 'northwind.dev'}"
            entry: Json = {
                "id": p.id,
                "team_id": TEAM,
                "name": p.handle,
                "deleted": p.deleted,
                "color": "9f69e7",
                "real_name": p.real_name,
                "tz": p.tz,
                "tz_label": EXPORT_AT.astimezone(zone).tzname(),
                "tz_offset": offset,
                "profile": {
                    "title": p.title,
                    "phone": "",
                    "skype": "",
                    "real_name": p.real_name,
                    "real_name_normalized": p.real_name,
                    "display_name": p.display_name,
                    "display_name_normalized": p.display_name,
                    "fields": None,
                    "status_text": "",
                    "status_emoji": "",
                    "avatar_hash": p.avatar,
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "image_72": f"https://avatars.northwind.dev/{p.avatar}_72.png",
                    "team": TEAM,
                },
                "is_admin": p.handle in ("hannah", "dan.w"),
                "is_owner": p.handle == "hannah",
                "is_primary_owner": p.handle == "hannah",
                "is_restricted": p.guest,
                "is_ultra_restricted": False,
                "is_bot": False,
                "is_app_user": False,
                "updated": int(EXPORT_AT.timestamp()) - 86400 * 3,
                "is_email_confirmed": True,
                "who_can_share_contact_card": "EVERYONE",
            }
            if p.deleted:
                # Deactivated accounts come without time zone and admin flags in exports.
                for key in ("tz", "tz_label", "tz_offset", "is_admin", "is_owner", "is_primary_owner"):
                    entry.pop(key)
            users.append(entry)
        for name, (bot_id, uid) in self.bots.items():
            users.append(
                {
                    "id": uid,
                    "team_id": TEAM,
                    "name": name,
                    "deleted": False,
                    "real_name": name,
                    "tz": "America/Los_Angeles",
                    "tz_label": "Pacific Daylight Time",
                    "tz_offset": -25200,
                    "profile": {
                        "real_name": name,
                        "display_name": "",
                        "bot_id": bot_id,
                        "api_app_id": "A07" + bot_id[3:],
                        "always_active": True,
                        "first_name": name,
                        "last_name": "",
                        "team": TEAM,
                    },
                    "is_admin": False,
                    "is_owner": False,
                    "is_restricted": False,
                    "is_ultra_restricted": False,
                    "is_bot": True,
                    "is_app_user": False,
                    "updated": int(EXPORT_AT.timestamp()) - 86400 * 200,
                }
            )
        users.append(
            {
                "id": "USLACKBOT",
                "team_id": TEAM,
                "name": "slackbot",
                "deleted": False,
                "real_name": "Slackbot",
                "tz": "America/Los_Angeles",
                "tz_label": "Pacific Daylight Time",
                "tz_offset": -25200,
                "profile": {
                    "real_name": "Slackbot",
                    "display_name": "Slackbot",
                    "first_name": "slackbot",
                    "last_name": "",
                    "team": TEAM,
                },
                "is_admin": False,
                "is_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": False,
                "is_app_user": False,
                "updated": 0,
            }
        )
        return users

    # -- profiles -------------------------------------------------------------------------------

    def profiles(self) -> list[Json]:
        """Stated topics: close to what people do, never identical (people under- and over-state)."""
        rng = random.Random(7)
        skip = {"kenji", "vikram", "kavya", "sam.t", "ella"}
        by_email = {"aisha", "oliver", "yuki", "jonas", "chloe", "noor.contractor"}
        rows: list[Json] = []
        for p in self.people:
            if p.handle in skip:
                continue
            expertise = [t for t in p.expertise if rng.random() > 0.15]  # some understate
            interests = list(p.interests)
            if rng.random() < 0.3:
                interests.append(rng.choice(list(STATED)))
            if not p.expertise and rng.random() < 0.5:
                expertise.append(rng.choice(p.interests))  # an eager junior overstates
            row: Json = {
                "interests": unique([rng.choice(STATED[t]) for t in interests if t not in expertise]),
                "expertise": unique([rng.choice(STATED[t]) for t in expertise]),
            }
            if p.handle in content.PUBLIC:
                row["public"] = True  # agreed to be named in in-channel answers
            if p.handle in by_email:
                row["email"] = (
                    f"{p.handle.split('.')[0]}@{'contractor.example.org' if p.guest else 'northwind.dev'}"
                )
            else:
                row["user"] = p.id
            rows.append(row)
        helped = {
            "dan.w": [
                "How do I find out why a pod keeps getting evicted from a node?",
                "What's the safest way to rotate the TLS certs on the ingress controller?",
            ],
            "maya": ["Why is my Postgres query slow only on the first run after a deploy?"],
        }
        for row in rows:
            handle = next((p.handle for p in self.people if p.id == row.get("user")), None)
            if handle in helped:
                row["helped"] = helped[handle]
        return rows


STATED = {
    "postgres": ["PostgreSQL", "Postgres", "databases"],
    "kubernetes": ["Kubernetes", "k8s"],
    "terraform": ["Terraform", "infrastructure as code"],
    "react": ["React", "React"],
    "css": ["CSS", "accessibility"],
    "python-packaging": ["Python packaging", "Python"],
    "ml": ["machine learning", "ML", "embeddings"],
    "data-pipelines": ["data pipelines", "dbt", "Airflow"],
    "observability": ["observability", "monitoring", "Prometheus"],
    "security": ["security", "appsec"],
    "talks": ["conference talks", "public speaking", "mentoring"],
    "design": ["design systems", "UX design"],
    "product": ["product management", "roadmaps"],
}


def unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def esc(text: str) -> str:
    """Slack escapes &, < and > in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def file_obj(
    b: Builder, person: Person, t: float, name: str, title: str, ftype: str, mime: str, size: int
) -> Json:
    fid = b._id("F07")
    return {
        "id": fid,
        "created": int(t),
        "timestamp": int(t),
        "name": name,
        "title": title,
        "mimetype": mime,
        "filetype": ftype,
        "pretty_type": ftype.upper(),
        "user": person.id,
        "user_team": TEAM,
        "editable": False,
        "size": size,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": True,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"https://files.slack.com/files-pri/{TEAM}-{fid}/{name}",
        "url_private_download": f"https://files.slack.com/files-pri/{TEAM}-{fid}/download/{name}",
        "permalink": f"https://northwind.slack.com/files/{person.id}/{fid}/{name}",
        "is_starred": False,
        "has_rich_preview": False,
    }


_TOKEN = re.compile(r"<@(U[A-Z0-9]+)>|<(https?://[^|>]+)(?:\|([^>]+))?>|`([^`]+)`|:([a-z0-9_+-]+):")


def rich_text(text: str) -> list[Json]:
    """The rich-text elements Slack's composer would store for `text` (sections and lists)."""
    sections: list[Json] = []
    lines = text.split("\n")
    bullets = [line[2:] for line in lines if line.startswith("- ")]
    if bullets and len(bullets) == len(lines) - 1 and not lines[0].startswith("- "):
        sections.append({"type": "rich_text_section", "elements": inline(lines[0] + "\n")})
        sections.append(
            {
                "type": "rich_text_list",
                "style": "bullet",
                "indent": 0,
                "border": 0,
                "elements": [{"type": "rich_text_section", "elements": inline(b)} for b in bullets],
            }
        )
        return sections
    return [{"type": "rich_text_section", "elements": inline(text)}]


def inline(text: str) -> list[Json]:
    out: list[Json] = []
    pos = 0

    def plain(chunk: str) -> None:
        if chunk:
            out.append(
                {
                    "type": "text",
                    "text": chunk.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
                }
            )

    for m in _TOKEN.finditer(text):
        plain(text[pos : m.start()])
        pos = m.end()
        user, url, label, code, emoji = m.groups()
        if user:
            out.append({"type": "user", "user_id": user})
        elif url:
            out.append({"type": "link", "url": url, **({"text": label} if label else {})})
        elif code:
            out.append(
                {
                    "type": "text",
                    "text": code.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
                    "style": {"code": True},
                }
            )
        elif emoji:
            out.append({"type": "emoji", "name": emoji})
    plain(text[pos:])
    return out


def dumps(value: Any) -> bytes:
    # Slack writes its exports indented with four spaces.
    return (json.dumps(value, indent=4, ensure_ascii=False) + "\n").encode()


def build(seed: int = 2026) -> dict[str, Any]:
    b = Builder(seed)
    b.build()
    return b.files()


def write_folder(files: dict[str, Any], out: Path) -> None:
    if out.exists():
        if any(out.iterdir()) and not (out / "users.json").exists():
            raise SystemExit(f"{out} exists and does not look like an export; not overwriting it")
        shutil.rmtree(out)
    for rel, value in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dumps(value))


def write_zip(files: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(rel, date_time=(2026, 10, 31, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, dumps(files[rel]))


def write_profiles(rows: list[Json], json_path: Path, csv_path: Path) -> None:
    keyed: dict[str, Json] = {}
    for row in rows:
        key = row.get("user") or row["email"]
        keyed[key] = {k: v for k, v in row.items() if k not in ("user", "email")}
    json_path.write_text(json.dumps(keyed, indent=2, ensure_ascii=False) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["user", "email", "interests", "expertise", "helped", "public"])
    for row in rows:
        writer.writerow(
            [
                row.get("user", ""),
                row.get("email", ""),
                "; ".join(row["interests"]),
                "; ".join(row["expertise"]),
                " | ".join(row.get("helped", [])),
                "yes" if row.get("public") else "",
            ]
        )
    csv_path.write_text(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE / "sample-export", help="folder to write")
    parser.add_argument("--zip", type=Path, help="write a .zip here instead of a folder")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profiles", action="store_true", help="also rewrite examples/profiles.json and .csv"
    )
    args = parser.parse_args(argv)
    b = Builder(args.seed)
    b.build()
    files = b.files()
    if args.zip:
        write_zip(files, args.zip)
        print(f"wrote {args.zip}")
    else:
        write_folder(files, args.out)
        print(f"wrote {len(files)} files to {args.out}")
    if args.profiles:
        write_profiles(b.profiles(), HERE / "profiles.json", HERE / "profiles.csv")
        print("wrote profiles.json and profiles.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
