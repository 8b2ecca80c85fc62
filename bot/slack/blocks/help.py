"""`/passiton help`: everything on one screen."""

from __future__ import annotations

from bot.messages import Block, context, section

HELP_TEXT = """*passiton* suggests, now and then, a person you could pass an article to or a question you could help with. Nothing is sent until you say what you care about.
*Your topics* (comma-separated; `k8s` means Kubernetes)
• `/passiton interests add|remove|list postgres, k8s` — what you'd like to hear about
• `/passiton expertise add|remove|list terraform` — what you can help with
• `/passiton expertise public terraform` — you may be *named* in channel answers for it (`private` to withdraw; off by default)
• `/passiton mute crypto` / `mute @ben` — never suggest this topic / this person (`unmute …` undoes; `mute` lists)
*Your rhythm*
• `/passiton stop` (or `off`, `unsubscribe`) — no more suggestions, until `/passiton via slack`
• `/passiton pause` or `snooze` — asks how long (or `pause 2w`, `3d`) · `resume` · `/passiton quiet 19:00-08:00`
• `/passiton via slack|email|both|off` · `/passiton digest daily|weekly`
*People*
• `/passiton who knows kubernetes` — who agreed to be named for it (only you see the answer)
• `/passiton answers off` (or `on`), in a channel — stop (or bring back) my replies to “who knows …” there
• `/passiton ask looking for someone to review my talk` — routed to a few people who can help
*Your data*
• `/passiton export` — everything held about you, sent to you by DM · `/passiton forget-me` — delete it all"""


def help_blocks() -> list[Block]:
    return [
        section(HELP_TEXT),
        context(
            "The Home tab of the passiton app shows and edits the same settings. Message shortcuts: “Pass it on…” and “Who could help with this?”."
        ),
    ]
