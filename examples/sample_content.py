"""Hand-written content for the sample export: the people, and what they talk about.

Everything here is invented for this project. `make_sample_export.py` turns it into a Slack export.
Topic keys are the ones used for expertise and interests below and in `profiles.json`.
"""

from __future__ import annotations

from typing import TypedDict


class Member(TypedDict, total=False):
    handle: str
    real_name: str
    display_name: str
    tz: str
    title: str
    expertise: list[str]  # what they actually answer questions about in the export
    interests: list[str]
    activity: float  # relative chance of posting chatter / sharing
    guest: bool
    deleted: bool
    joins_on: int  # day index (0 = Oct 1) they join; absent = there from the start


LA, NY, LDN, BER, KOL, TYO, SYD = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)

MEMBERS: list[Member] = [
    # Los Angeles
    {
        "handle": "maya",
        "real_name": "Maya Okafor",
        "display_name": "Maya",
        "tz": LA,
        "title": "Staff Engineer",
        "expertise": ["postgres", "data-pipelines"],
        "interests": ["observability", "talks"],
        "activity": 1.6,
    },
    {
        "handle": "dan.w",
        "real_name": "Dan Whitfield",
        "display_name": "Dan W",
        "tz": LA,
        "title": "SRE",
        "expertise": ["kubernetes", "terraform", "observability"],
        "interests": ["security"],
        "activity": 1.8,
    },
    {
        "handle": "priya",
        "real_name": "Priya Raman",
        "display_name": "Priya",
        "tz": LA,
        "title": "Frontend Lead",
        "expertise": ["react", "css"],
        "interests": ["design"],
        "activity": 1.3,
    },
    {
        "handle": "jordan",
        "real_name": "Jordan Lee",
        "display_name": "Jordan",
        "tz": LA,
        "title": "Product Manager",
        "expertise": ["product"],
        "interests": ["design", "ml"],
        "activity": 1.0,
    },
    {
        "handle": "sofia.m",
        "real_name": "Sofia Marquez",
        "display_name": "Sofia",
        "tz": LA,
        "title": "Product Designer",
        "expertise": ["design", "css"],
        "interests": ["react", "product"],
        "activity": 0.9,
    },
    {
        "handle": "ben",
        "real_name": "Ben Carter",
        "display_name": "Ben",
        "tz": LA,
        "title": "Software Engineer",
        "expertise": [],
        "interests": ["postgres", "python-packaging", "talks"],
        "activity": 1.2,
    },
    {
        "handle": "hannah",
        "real_name": "Hannah Brooks",
        "display_name": "Hannah",
        "tz": LA,
        "title": "Engineering Manager",
        "expertise": ["talks"],
        "interests": ["product"],
        "activity": 0.8,
    },
    {
        "handle": "tomas",
        "real_name": "Tomás Rivera",
        "display_name": "Tomás",
        "tz": LA,
        "title": "ML Engineer",
        "expertise": ["ml", "python-packaging"],
        "interests": ["data-pipelines"],
        "activity": 1.1,
    },
    # New York
    {
        "handle": "aisha",
        "real_name": "Aisha Bello",
        "display_name": "Aisha",
        "tz": NY,
        "title": "Data Engineer",
        "expertise": ["data-pipelines", "postgres"],
        "interests": ["ml"],
        "activity": 1.4,
    },
    {
        "handle": "kevin.oc",
        "real_name": "Kevin O'Connell",
        "display_name": "Kev",
        "tz": NY,
        "title": "Security Engineer",
        "expertise": ["security", "terraform"],
        "interests": ["kubernetes"],
        "activity": 1.0,
    },
    {
        "handle": "rachel",
        "real_name": "Rachel Stein",
        "display_name": "Rachel",
        "tz": NY,
        "title": "Staff Frontend Engineer",
        "expertise": ["react", "talks"],
        "interests": ["css", "design"],
        "activity": 1.3,
    },
    {
        "handle": "marcus",
        "real_name": "Marcus Green",
        "display_name": "Marcus",
        "tz": NY,
        "title": "Backend Engineer",
        "expertise": ["python-packaging", "postgres"],
        "interests": ["observability"],
        "activity": 1.0,
    },
    {
        "handle": "lena",
        "real_name": "Lena Park",
        "display_name": "Lena",
        "tz": NY,
        "title": "Data Scientist",
        "expertise": ["ml"],
        "interests": ["data-pipelines", "product"],
        "activity": 0.9,
    },
    {
        "handle": "chris.d",
        "real_name": "Chris Donovan",
        "display_name": "Chris D",
        "tz": NY,
        "title": "Developer Advocate",
        "expertise": ["talks"],
        "interests": ["react", "ml"],
        "activity": 1.5,
    },
    {
        "handle": "nia",
        "real_name": "Nia Thompson",
        "display_name": "Nia",
        "tz": NY,
        "title": "SRE",
        "expertise": ["observability", "kubernetes"],
        "interests": ["security"],
        "activity": 1.1,
    },
    # London
    {
        "handle": "oliver",
        "real_name": "Oliver Hughes",
        "display_name": "Olly",
        "tz": LDN,
        "title": "Platform Engineer",
        "expertise": ["terraform", "kubernetes"],
        "interests": ["security"],
        "activity": 1.2,
    },
    {
        "handle": "amara",
        "real_name": "Amara Nwosu",
        "display_name": "Amara",
        "tz": LDN,
        "title": "Backend Engineer",
        "expertise": ["postgres", "observability"],
        "interests": ["talks"],
        "activity": 1.0,
    },
    {
        "handle": "george",
        "real_name": "George Patel",
        "display_name": "George",
        "tz": LDN,
        "title": "Engineering Manager",
        "expertise": ["talks", "product"],
        "interests": ["design"],
        "activity": 0.8,
    },
    {
        "handle": "emily",
        "real_name": "Emily Clarke",
        "display_name": "Emily",
        "tz": LDN,
        "title": "Frontend Engineer",
        "expertise": ["css", "react"],
        "interests": ["design"],
        "activity": 1.0,
    },
    {
        "handle": "fatima",
        "real_name": "Fatima Shah",
        "display_name": "Fatima",
        "tz": LDN,
        "title": "Security Engineer",
        "expertise": ["security"],
        "interests": ["python-packaging"],
        "activity": 0.9,
    },
    {
        "handle": "sam.t",
        "real_name": "Sam Turner",
        "display_name": "Sam",
        "tz": LDN,
        "title": "Data Analyst",
        "expertise": ["data-pipelines"],
        "interests": ["ml", "postgres"],
        "activity": 0.8,
    },
    # Berlin
    {
        "handle": "lukas",
        "real_name": "Lukas Becker",
        "display_name": "Lukas",
        "tz": BER,
        "title": "Infrastructure Engineer",
        "expertise": ["kubernetes", "observability"],
        "interests": ["terraform"],
        "activity": 1.2,
    },
    {
        "handle": "anna.s",
        "real_name": "Anna Schmidt",
        "display_name": "Anna",
        "tz": BER,
        "title": "ML Engineer",
        "expertise": ["ml", "data-pipelines"],
        "interests": ["python-packaging"],
        "activity": 1.0,
    },
    {
        "handle": "jonas",
        "real_name": "Jonas Weber",
        "display_name": "Jonas",
        "tz": BER,
        "title": "Backend Engineer",
        "expertise": ["python-packaging", "security"],
        "interests": ["postgres"],
        "activity": 1.0,
    },
    {
        "handle": "clara",
        "real_name": "Clara Hoffmann",
        "display_name": "Clara",
        "tz": BER,
        "title": "Product Designer",
        "expertise": ["design", "product"],
        "interests": ["css"],
        "activity": 0.8,
    },
    {
        "handle": "felix",
        "real_name": "Felix Wagner",
        "display_name": "Felix",
        "tz": BER,
        "title": "Junior Frontend Engineer",
        "expertise": [],
        "interests": ["react", "css", "talks"],
        "activity": 1.1,
        "joins_on": 11,
    },
    {
        "handle": "mia.f",
        "real_name": "Mia Fischer",
        "display_name": "Mia",
        "tz": BER,
        "title": "Data Engineer",
        "expertise": ["data-pipelines", "postgres"],
        "interests": ["observability"],
        "activity": 0.9,
    },
    # Kolkata
    {
        "handle": "arjun",
        "real_name": "Arjun Mehta",
        "display_name": "Arjun",
        "tz": KOL,
        "title": "Senior Backend Engineer",
        "expertise": ["postgres", "python-packaging"],
        "interests": ["kubernetes"],
        "activity": 1.3,
    },
    {
        "handle": "sneha",
        "real_name": "Sneha Iyer",
        "display_name": "Sneha",
        "tz": KOL,
        "title": "ML Engineer",
        "expertise": ["ml"],
        "interests": ["data-pipelines", "talks"],
        "activity": 1.1,
    },
    {
        "handle": "rohan",
        "real_name": "Rohan Das",
        "display_name": "Rohan",
        "tz": KOL,
        "title": "SRE",
        "expertise": ["kubernetes", "terraform"],
        "interests": ["observability"],
        "activity": 1.0,
    },
    {
        "handle": "kavya",
        "real_name": "Kavya Nair",
        "display_name": "Kavya",
        "tz": KOL,
        "title": "QA Engineer",
        "expertise": ["react"],
        "interests": ["css", "design"],
        "activity": 0.8,
    },
    {
        "handle": "vikram",
        "real_name": "Vikram Rao",
        "display_name": "Vikram",
        "tz": KOL,
        "title": "Data Engineer",
        "expertise": ["data-pipelines"],
        "interests": ["ml"],
        "activity": 0.8,
    },
    # Tokyo
    {
        "handle": "yuki",
        "real_name": "Yuki Tanaka",
        "display_name": "Yuki",
        "tz": TYO,
        "title": "Frontend Engineer",
        "expertise": ["css", "design"],
        "interests": ["react"],
        "activity": 0.9,
    },
    {
        "handle": "haruto",
        "real_name": "Haruto Sato",
        "display_name": "Haruto",
        "tz": TYO,
        "title": "Infrastructure Engineer",
        "expertise": ["terraform", "security"],
        "interests": ["kubernetes"],
        "activity": 0.8,
    },
    {
        "handle": "aiko",
        "real_name": "Aiko Suzuki",
        "display_name": "Aiko",
        "tz": TYO,
        "title": "Data Scientist",
        "expertise": ["ml", "data-pipelines"],
        "interests": ["product"],
        "activity": 0.8,
    },
    {
        "handle": "kenji",
        "real_name": "Kenji Watanabe",
        "display_name": "Kenji",
        "tz": TYO,
        "title": "Backend Engineer",
        "expertise": ["postgres", "observability"],
        "interests": ["python-packaging"],
        "activity": 0.7,
    },
    # Sydney
    {
        "handle": "liam",
        "real_name": "Liam Murphy",
        "display_name": "Liam",
        "tz": SYD,
        "title": "Staff Engineer",
        "expertise": ["kubernetes", "python-packaging"],
        "interests": ["talks"],
        "activity": 1.2,
    },
    {
        "handle": "chloe",
        "real_name": "Chloe Nguyen",
        "display_name": "Chloe",
        "tz": SYD,
        "title": "Product Manager",
        "expertise": ["product", "design"],
        "interests": ["ml"],
        "activity": 0.9,
    },
    {
        "handle": "jack",
        "real_name": "Jack Wilson",
        "display_name": "Jack",
        "tz": SYD,
        "title": "Security Engineer",
        "expertise": ["security", "observability"],
        "interests": ["terraform"],
        "activity": 0.9,
    },
    # Left during the month: the account is deactivated, the messages stay.
    {
        "handle": "ella",
        "real_name": "Ella Roberts",
        "display_name": "Ella",
        "tz": SYD,
        "title": "Frontend Engineer",
        "expertise": ["react", "css"],
        "interests": ["design"],
        "activity": 1.0,
        "deleted": True,
    },
    # A contractor, in as a multi-channel guest.
    {
        "handle": "noor.contractor",
        "real_name": "Noor Haddad",
        "display_name": "Noor (contractor)",
        "tz": LDN,
        "title": "Accessibility consultant",
        "expertise": ["css", "design"],
        "interests": ["react"],
        "activity": 0.6,
        "guest": True,
    },
]

# channel name -> (id, purpose, topic keys that live there, private)
CHANNELS = {
    "general": (
        "C0GENERAL1",
        "Company-wide announcements and anything for everyone",
        ["talks", "product", "design"],
        False,
    ),
    "eng": (
        "C0ENG00001",
        "Engineering: code, reviews, architecture",
        ["postgres", "python-packaging", "security", "observability"],
        False,
    ),
    "infra": (
        "C0INFRA001",
        "Clusters, cloud, deploys, on-call",
        ["kubernetes", "terraform", "observability", "security"],
        False,
    ),
    "data": (
        "C0DATA0001",
        "Pipelines, warehouse, analytics, ML",
        ["data-pipelines", "ml", "postgres"],
        False,
    ),
    "frontend": ("C0FRONTEND", "Web app, design system, accessibility", ["react", "css", "design"], False),
    "help": ("C0HELP0001", "Stuck? Ask here, no question too small", [], False),
    "random": ("C0RANDOM01", "Non-work banter and water cooler conversation", [], False),
    "leads": (
        "G0LEADS001",
        "Managers and staff engineers: planning, hiring, people stuff",
        ["talks", "product"],
        True,
    ),
}

LEADS = ["maya", "hannah", "rachel", "george", "liam", "jordan", "chloe", "dan.w"]

# Topic -> articles (url, title, description, site name) and questions (question, answers, follow-up).
# `{asker}` in an answer becomes a mention of whoever asked.
TOPICS: dict[str, dict[str, list]] = {  # type: ignore[type-arg]
    "postgres": {
        "articles": [
            (
                "https://pgpractice.dev/posts/autovacuum-tuning-for-busy-tables",
                "Autovacuum tuning for tables that never sleep",
                "Why the default scale factor falls apart past a few million rows, and how per-table settings fixed our bloat.",
                "pgpractice",
            ),
            (
                "https://blog.ledgerline.io/engineering/partitioning-without-downtime",
                "Partitioning a 2 TB Postgres table without downtime",
                "A step-by-step migration to declarative partitioning using triggers, backfill batches and a short cutover.",
                "Ledgerline Engineering",
            ),
            (
                "https://queryweekly.net/issues/112-reading-explain-analyze",
                "Reading EXPLAIN ANALYZE like a detective",
                "Row estimates, buffers and loops: the three numbers that tell you why a plan went wrong.",
                "Query Weekly",
            ),
            (
                "https://pgpractice.dev/posts/connection-pooling-in-2026",
                "Connection pooling in 2026: transaction mode gotchas",
                "Prepared statements, advisory locks and SET commands all behave differently behind a transaction pooler.",
                "pgpractice",
            ),
        ],
        "questions": [
            (
                "Our `events` table is at 400M rows and autovacuum seems to never finish on it. Is it normal for it to run for 10+ hours? Anything I should look at first?",
                [
                    "Not normal for a table that size if it's mostly inserts. Check `n_dead_tup` in `pg_stat_user_tables` and whether something holds an old xmin — a forgotten replication slot or an idle-in-transaction session blocks cleanup completely.",
                    "+1 to the xmin thing. Also lower `autovacuum_vacuum_scale_factor` on that table only, something like 0.01, and bump `autovacuum_vacuum_cost_limit`. The defaults are tuned for small tables.",
                    "We had exactly this last year; it was a stale logical replication slot from a CDC tool nobody used anymore.",
                ],
                "Found an idle-in-transaction session from a notebook that had been open since Friday :facepalm: killed it and vacuum finished in 40 minutes. Thanks all!",
            ),
            (
                "Is there a way to add a NOT NULL column with a default to a big table without locking it for ages? We're on PG 16.",
                [
                    "Since PG 11 adding a column with a constant default is metadata-only, so it's instant. It's volatile defaults like `now()` or `gen_random_uuid()` that rewrite the table.",
                    "If you need a volatile default, add it nullable, backfill in batches, then add a `CHECK (col IS NOT NULL) NOT VALID`, validate it, and then SET NOT NULL — PG uses the validated check and skips the scan.",
                ],
                "ah perfect, it's a constant default so I was worrying for nothing",
            ),
            (
                "Why would a query use a seq scan when there's an index on exactly the column in the WHERE clause? `EXPLAIN` says it expects 30% of rows.",
                [
                    "If the planner thinks 30% of the rows match, a seq scan really is cheaper than hopping through the index. Question is whether the estimate is right — compare estimated vs actual rows in EXPLAIN ANALYZE.",
                    "Could be stale stats. Run `ANALYZE` on the table, and if the column is skewed bump its statistics target.",
                ],
                None,
            ),
            (
                "What's a sane `max_connections` for a db.r6g.2xlarge? Our app has 12 pods with a pool of 20 each and we keep hitting 'too many clients'.",
                [
                    "Don't raise max_connections, put a pooler in front. Each backend costs memory and you get contention well before you run out of RAM. PgBouncer in transaction mode, and drop the per-pod pools to 5.",
                    "Also check for leaked connections: `select state, count(*) from pg_stat_activity group by 1`. Lots of `idle` usually means pools that are too big, not too few slots.",
                ],
                None,
            ),
            (
                "Anyone have a good pattern for soft deletes in Postgres that doesn't make every query need `WHERE deleted_at IS NULL`?",
                [
                    "Views with the filter plus partial indexes on `deleted_at IS NULL`. Or move deleted rows to an archive table in the same transaction — easier to reason about in my experience."
                ],
                None,
            ),
        ],
    },
    "kubernetes": {
        "articles": [
            (
                "https://clusterfield.dev/blog/requests-limits-and-the-cpu-throttling-myth",
                "Requests, limits and the CPU throttling myth",
                "CPU limits cause throttling even on idle nodes. What we measured after removing them from 300 services.",
                "Clusterfield",
            ),
            (
                "https://engineering.harborlight.com/zero-downtime-node-pool-upgrades",
                "Zero-downtime node pool upgrades, for real this time",
                "PodDisruptionBudgets, preStop hooks and readiness gates: the checklist we now run before every upgrade.",
                "Harborlight Engineering",
            ),
            (
                "https://kubeletter.io/issues/58-debugging-crashloopbackoff",
                "A field guide to CrashLoopBackOff",
                "Exit codes, OOMKilled, probes that kill healthy pods, and the kubectl commands that tell them apart.",
                "Kubeletter",
            ),
        ],
        "questions": [
            (
                "Pods in staging keep getting OOMKilled right after deploy but memory graphs look flat at ~300Mi with a 512Mi limit. What am I missing?",
                [
                    "Graphs are usually scraped every 15-30s, so a startup spike never shows up. JVM or a big cache warm-up at boot? Try `kubectl describe pod` for the last state and look at container_memory_working_set_bytes at a higher resolution.",
                    "Also check whether the limit applies to an init container or a sidecar — the OOM might not even be your app container.",
                    "We had this with a Python service loading a model at import time. Spike to 700Mi for two seconds, then back to 300.",
                ],
                "It's the sidecar. The log shipper buffers everything on startup. Raising its limit, thanks!",
            ),
            (
                "What's the recommended way to give a pod access to an S3 bucket without baking keys into a secret?",
                [
                    "Workload identity: IRSA on EKS (service account annotated with a role ARN). The pod gets short-lived creds via the projected token, nothing to rotate.",
                    "And scope the role to the one bucket prefix it needs; we have a Terraform module for that in infra-modules.",
                ],
                None,
            ),
            (
                "How do people handle `kubectl` access for on-call without giving everyone cluster-admin?",
                [
                    "We map SSO groups to ClusterRoles: on-call gets a role that can read everything, exec into pods and delete pods, but not touch RBAC or secrets. Break-glass admin goes through an approval.",
                    "Short-lived certs via the SSO login plugin help too, so nobody has a year-old kubeconfig lying around.",
                ],
                None,
            ),
            (
                "Is a HorizontalPodAutoscaler on CPU pointless for an IO-bound service? Ours never scales even when latency doubles.",
                [
                    "For IO-bound stuff scale on something that tracks the work: queue depth, in-flight requests, or p95 latency via a custom metric. CPU stays low while the service is drowning.",
                    "KEDA makes the queue-depth version pretty painless if you don't want to run the custom metrics adapter yourself.",
                ],
                None,
            ),
        ],
    },
    "terraform": {
        "articles": [
            (
                "https://iacnotes.dev/terraform-state-surgery",
                "Terraform state surgery without tears",
                "moved blocks, import blocks and removed blocks: refactoring modules without touching real infrastructure.",
                "IaC Notes",
            ),
            (
                "https://blog.cobaltgrid.io/policy-as-code-for-plans",
                "Policy as code for Terraform plans",
                "Catching public buckets and wide-open security groups in CI before anyone hits apply.",
                "Cobaltgrid",
            ),
            (
                "https://iacnotes.dev/splitting-the-monostate",
                "Splitting the monostate: one repo, many small states",
                "How we cut plan times from 11 minutes to 40 seconds by breaking a single state file along team boundaries.",
                "IaC Notes",
            ),
        ],
        "questions": [
            (
                "I renamed a module in our Terraform and now plan wants to destroy and recreate the whole RDS instance :scream: how do I tell it it's the same thing?",
                [
                    "Add a `moved` block from the old address to the new one, e.g. `moved { from = module.db  to = module.primary_db }`. Plan should then show no changes. Don't run apply until it does!",
                    "If you're on an old version without `moved`, `terraform state mv` does the same thing, but do it on a copy of the state first.",
                ],
                "moved block worked, plan is clean. Heart rate back to normal.",
            ),
            (
                "How do you all structure Terraform for multiple environments — workspaces, or a folder per env?",
                [
                    "Folder per env that calls the same modules with different tfvars. Workspaces hide which env you're in, and someone will eventually apply staging config to prod.",
                    "Folders here too. We keep env folders tiny — just module calls and backend config — so the diff between staging and prod is readable in one screen.",
                ],
                None,
            ),
            (
                "Our plan in CI takes 9 minutes, mostly 'Refreshing state...'. Any tricks?",
                [
                    "Split the state. Nothing else gives you as much. In the meantime `-refresh=false` for PR plans is OK-ish if you do a full refresh nightly.",
                    "Also check for data sources that list big things (all AMIs, all zones) — those get re-read every plan.",
                ],
                None,
            ),
        ],
    },
    "react": {
        "articles": [
            (
                "https://frontendfield.dev/articles/server-components-a-year-in",
                "Server Components, a year in",
                "What got simpler, what got weird, and the caching bug that cost us a week.",
                "Frontend Field",
            ),
            (
                "https://uiengineering.blog/posts/you-might-not-need-an-effect-again",
                "You still might not need an effect",
                "Derived state, event handlers and keys: the useEffect calls we deleted from a 200-component app.",
                "UI Engineering",
            ),
            (
                "https://frontendfield.dev/articles/testing-forms-with-testing-library",
                "Testing forms the way users fill them in",
                "userEvent, accessible queries and why getByRole caught three real bugs our snapshot tests missed.",
                "Frontend Field",
            ),
        ],
        "questions": [
            (
                "Why does my component render twice in dev? I put a console.log in the body and see every log doubled.",
                [
                    "That's StrictMode — in development React renders components twice on purpose to surface impure render code. It doesn't happen in production builds.",
                    "Right, and effects mount, unmount and mount again in dev for the same reason. If something breaks because of that, the effect is missing a cleanup.",
                ],
                "Ohh that explains the double fetch too. Thanks {expert}!",
            ),
            (
                "What's the current thinking on form libraries? We have a big settings page with ~40 fields and validation is getting messy.",
                [
                    "For 40 fields with cross-field validation I'd use react-hook-form with a schema validator. Uncontrolled inputs keep it fast.",
                    "Try the plain form + server action route first if you're on a framework that supports it; we deleted a lot of client state that way. But for a settings page with live validation, the library is worth it.",
                ],
                None,
            ),
            (
                "Is it bad to put a whole API response object in context? Every consumer re-renders when anything changes.",
                [
                    "Yes, that's the classic context trap. Either split the context (data vs. actions), or use a store with selectors so each component subscribes to the slice it reads.",
                    "Or a server-state library that caches per query — then the 'global' object mostly disappears.",
                ],
                None,
            ),
            (
                "How do I stop a list of 5k rows from freezing the page when the user types in the filter box?",
                [
                    "Virtualize the list so only visible rows render, and wrap the filter update in `useDeferredValue` so typing stays responsive.",
                    "also memoize the row component, otherwise virtualization only gets you halfway",
                ],
                None,
            ),
        ],
    },
    "css": {
        "articles": [
            (
                "https://cascadenotes.dev/container-queries-in-production",
                "Container queries in production",
                "Our card component finally knows how wide it is. Patterns, fallbacks and one Safari surprise.",
                "Cascade Notes",
            ),
            (
                "https://stylecraft.blog/the-has-selector-changed-how-we-write-css",
                "The :has() selector changed how we write CSS",
                "Parent selectors replaced a dozen JavaScript class toggles in our design system.",
                "Stylecraft",
            ),
            (
                "https://cascadenotes.dev/logical-properties-for-rtl",
                "Logical properties: RTL support without a second stylesheet",
                "margin-inline-start and friends, and the migration script we used across 900 files.",
                "Cascade Notes",
            ),
        ],
        "questions": [
            (
                "How do I make a sticky header that stops being sticky inside a scroll container? `position: sticky` does nothing for me.",
                [
                    "Sticky is relative to the nearest scrolling ancestor. If any parent has `overflow: hidden` or `overflow: auto`, that becomes the container. Check the parents in devtools.",
                    "Also needs a `top: 0` (or some inset) — without it sticky has nothing to stick to. Easy one to forget.",
                ],
                "It was an `overflow: hidden` three levels up. Thank you!",
            ),
            (
                "Any good way to do a fluid font size that isn't a wall of media queries?",
                [
                    "`clamp()` — e.g. `font-size: clamp(1rem, 0.9rem + 0.5vw, 1.25rem)`. Keep a rem part in the middle so it still respects the user's zoom."
                ],
                None,
            ),
            (
                "Our modal's focus ring disappears in Windows high contrast mode. Is there a way to keep a visible outline?",
                [
                    "Use `outline` rather than `box-shadow` for focus styles — high contrast mode drops box-shadow. `outline: 2px solid transparent` even shows up in forced colors mode.",
                    "And test with `@media (forced-colors: active)`; devtools can emulate it.",
                ],
                None,
            ),
        ],
    },
    "python-packaging": {
        "articles": [
            (
                "https://pybuildnotes.dev/pyproject-only-in-2026",
                "pyproject.toml only: deleting setup.py for good",
                "Build backends, dynamic versions and the two edge cases that still need a little config.",
                "PyBuild Notes",
            ),
            (
                "https://blog.packetfox.io/lockfiles-for-python-services",
                "Lockfiles for Python services",
                "Why our deploys stopped breaking on Mondays once every service pinned its full dependency tree.",
                "Packetfox",
            ),
            (
                "https://pybuildnotes.dev/wheels-for-native-extensions",
                "Shipping wheels for native extensions",
                "cibuildwheel, manylinux tags and how to not make your users compile anything.",
                "PyBuild Notes",
            ),
        ],
        "questions": [
            (
                "`pip install -e .` works locally but in CI the package imports fail with ModuleNotFoundError. src layout, pyproject only. Ideas?",
                [
                    'With a src layout check that the build backend actually finds the package: for setuptools, `[tool.setuptools.packages.find] where = ["src"]`. Locally it might work because you run from the repo root and `.` is on sys.path.',
                    "Also make sure CI isn't running in a different venv than the one it installed into. `python -m pip` and `python -m pytest` with the same python avoids that.",
                ],
                "It was the packages.find config. Works now, thanks {expert}",
            ),
            (
                "What's the least painful way to publish an internal package so other teams can pip install it?",
                [
                    "Publish wheels to the internal package index from CI on tag. Build with `python -m build`, upload with twine and a scoped token.",
                    "And version it properly — other teams will pin it. We got burned by 'latest from main' installs.",
                ],
                None,
            ),
            (
                "Should a library pin exact versions of its dependencies in pyproject?",
                [
                    "No — libraries should use ranges (lower bound, maybe an upper major bound) and leave pinning to applications. Exact pins in a library make it uninstallable next to anything else.",
                    "Libraries: ranges. Apps: lockfile. That rule has saved me a lot of arguments.",
                ],
                None,
            ),
        ],
    },
    "ml": {
        "articles": [
            (
                "https://mlfieldnotes.ai/posts/evaluating-retrieval-before-generation",
                "Evaluate retrieval before you evaluate generation",
                "Most bad answers were bad retrieval. Recall@k on a hand-labelled set told us more than any LLM judge.",
                "ML Field Notes",
            ),
            (
                "https://research.tidalworks.ai/small-embedding-models-hold-up",
                "Small embedding models hold up surprisingly well",
                "A 30M-parameter model within 3 points of a big one on our internal search benchmark, at a tenth of the latency.",
                "Tidalworks Research",
            ),
            (
                "https://mlfieldnotes.ai/posts/feature-drift-alerts-that-matter",
                "Feature drift alerts that don't cry wolf",
                "Population stability index, sensible thresholds and tying drift to actual model performance.",
                "ML Field Notes",
            ),
        ],
        "questions": [
            (
                "Our classifier is 94% accurate but the business says it's useless. Classes are 95/5. What metric should I be looking at?",
                [
                    "With 95/5, predicting the majority class gets you 95%. Look at precision and recall on the minority class, and PR-AUC rather than ROC-AUC.",
                    "And ask what a false positive vs a false negative costs them — pick the threshold from that, not 0.5.",
                ],
                "yeah, recall on the rare class is 31%. Oof. Back to the drawing board, thanks",
            ),
            (
                "How do you version training data? We keep losing track of which snapshot a model was trained on.",
                [
                    "Cheapest thing that works: write the dataset as immutable parquet under a content hash and log that hash with the model run. Tools like DVC or lakeFS add nicer UX on top.",
                    "Log the query and the snapshot time too, not just the path. Future-you will want to rebuild it.",
                ],
                None,
            ),
            (
                "Is it worth fine-tuning an embedding model for internal search or should we just use an off-the-shelf one?",
                [
                    "Start off-the-shelf and build an eval set of ~200 real queries with known good results first. Only fine-tune if you can measure the gap — often chunking and hybrid search with BM25 fix more.",
                    "Agree. We got +12 recall@10 from hybrid search and +2 from fine-tuning.",
                ],
                None,
            ),
            (
                "Any tips for speeding up pandas feature engineering on ~50M rows? It takes 40 min on my laptop.",
                [
                    "Try polars or DuckDB for that size — both are columnar and multi-threaded. Rewriting apply() calls as vectorized expressions alone is often 10x.",
                    "Also check dtypes: object columns of strings are a memory killer. Categoricals help a lot.",
                ],
                None,
            ),
        ],
    },
    "data-pipelines": {
        "articles": [
            (
                "https://pipelinepost.dev/idempotent-backfills",
                "Idempotent backfills or bust",
                "Partition overwrite, deterministic IDs and the one-line change that made our reruns safe.",
                "Pipeline Post",
            ),
            (
                "https://engineering.meridianfreight.com/from-cron-to-orchestrator",
                "From 60 cron jobs to one orchestrator",
                "Lineage, retries and alerting we got for free, and the three DAGs we should not have migrated.",
                "Meridian Freight Engineering",
            ),
            (
                "https://pipelinepost.dev/data-contracts-that-stick",
                "Data contracts that actually stick",
                "Schema checks in the producer's CI, not the consumer's morning. How we got product teams to own their events.",
                "Pipeline Post",
            ),
        ],
        "questions": [
            (
                "Daily job is double counting orders whenever it's retried after a partial failure. What's the standard fix?",
                [
                    "Make each run overwrite its partition instead of appending: delete-then-insert for the run date in one transaction, or INSERT OVERWRITE on the warehouse side.",
                    "And derive IDs deterministically from the source (order id + date) so a MERGE can dedupe even if something slips through.",
                ],
                "Switched to partition overwrite, reran three days, numbers match finance now :tada:",
            ),
            (
                "How do people test dbt models? Ours break silently when an upstream column changes.",
                [
                    "Schema tests (not_null, unique, accepted_values) on the sources, not just the marts, and a source freshness check. Then CI builds the changed models against a prod clone.",
                    "Contracts on the models that other teams consume — the build fails if a column's type changes.",
                ],
                None,
            ),
            (
                "CDC from Postgres into the warehouse: Debezium, or is there something simpler for ~20 tables?",
                [
                    "For 20 tables a managed connector is less work than running Kafka Connect yourself. Debezium is great but you inherit the whole Kafka operational story.",
                    "Whatever you choose, watch the replication slot size on the Postgres side. A stuck consumer will fill the disk.",
                ],
                None,
            ),
            (
                "Our Airflow scheduler gets slow with ~400 DAGs. Is that just Airflow?",
                [
                    "Usually it's top-level code in DAG files — anything that runs on parse (API calls, DB queries, big imports) runs every parse loop. Move it into tasks.",
                    "Check `dag_processor` parse times in the UI, it'll point at the worst files.",
                ],
                None,
            ),
        ],
    },
    "observability": {
        "articles": [
            (
                "https://signalnoise.dev/slo-burn-rate-alerts-explained",
                "SLO burn-rate alerts, explained with pictures",
                "Multi-window, multi-burn-rate alerts: page on fast burns, ticket on slow ones, sleep the rest.",
                "Signal/Noise",
            ),
            (
                "https://blog.quietpager.io/cardinality-is-a-budget",
                "Cardinality is a budget, not an accident",
                "How one user_id label took down our metrics backend, and the review step we added afterwards.",
                "QuietPager",
            ),
            (
                "https://signalnoise.dev/tracing-the-last-mile",
                "Tracing the last mile: from load balancer to database",
                "Propagating context through queues and cron jobs so a trace tells the whole story.",
                "Signal/Noise",
            ),
        ],
        "questions": [
            (
                "Our Prometheus memory doubled after last week's deploy. How do I find which metric exploded?",
                [
                    "Check the TSDB status page (`/tsdb-status`) — it lists the metrics and labels with the most series. Nine times out of ten someone added a label with unbounded values.",
                    '`topk(10, count by (__name__)({__name__=~".+"}))` works too, but it\'s heavy on a struggling server, so try the status page first.',
                ],
                "Someone added `request_path` with raw URLs including IDs. Found it in 2 minutes with the status page, thanks!",
            ),
            (
                "What should we actually alert on for a queue consumer? Right now we page on CPU and it's useless.",
                [
                    "Page on symptoms: age of the oldest message and consumer lag against your processing SLO. CPU is a cause-y metric, good for dashboards, bad for pages.",
                    "And error rate on processing. Lag alone misses the case where you consume fast and fail everything.",
                ],
                None,
            ),
            (
                "Is it worth adding tracing to a monolith? We're not microservices.",
                [
                    "Yes — traces across DB calls, cache and outbound HTTP inside one process are still the quickest way to see where a slow request spends its time. Auto-instrumentation gets you most of it.",
                    "Start with the top 5 endpoints by traffic and sample. You don't need 100% of traces.",
                ],
                None,
            ),
        ],
    },
    "security": {
        "articles": [
            (
                "https://secwatch.dev/posts/dependency-confusion-still-works",
                "Dependency confusion still works in 2026",
                "Internal package names on public registries, and the three settings that stop it.",
                "SecWatch",
            ),
            (
                "https://blog.brightkeep.com/passkeys-rollout-retrospective",
                "Our passkeys rollout, six months later",
                "Adoption curves, recovery flows and the support tickets we didn't expect.",
                "Brightkeep",
            ),
            (
                "https://secwatch.dev/posts/least-privilege-for-ci",
                "Least privilege for CI pipelines",
                "OIDC federation instead of long-lived cloud keys, and scoping tokens per job.",
                "SecWatch",
            ),
        ],
        "questions": [
            (
                "Someone pushed an API key to a public repo for ~10 minutes before deleting the commit. Is deleting enough?",
                [
                    "No — assume it's compromised. Bots scrape public pushes within seconds. Rotate the key now, then check the provider's logs for use since the push.",
                    "And deleting the commit doesn't remove it from forks or caches. Rotate first, history cleanup is optional after.",
                ],
                "Rotated, and the logs show one call from an IP we don't know. Filing an incident. Thanks for the quick answer.",
            ),
            (
                "How should we store secrets for local development? People have .env files with prod-ish creds everywhere.",
                [
                    "Local dev shouldn't need prod creds at all — separate dev credentials with limited scope. Then pull them from the secrets manager via a CLI at startup instead of files.",
                    "Add a pre-commit hook with a secret scanner too. It catches the accidental commit before it's a problem.",
                ],
                None,
            ),
            (
                "Do we need to worry about SSRF in a feature that fetches a user-provided URL for link previews?",
                [
                    "Very much yes. Resolve the hostname yourself, refuse private, loopback and link-local ranges (including the cloud metadata IP), don't follow redirects blindly, and cap size and time.",
                    "Do the check after DNS resolution and connect to the resolved IP — otherwise DNS rebinding gets around it.",
                ],
                None,
            ),
        ],
    },
    "talks": {
        "articles": [
            (
                "https://speakerdeck-notes.dev/how-to-write-a-cfp-that-gets-accepted",
                "How to write a CFP that gets accepted",
                "Reviewers read hundreds. A clear title, one concrete takeaway and a story of something that went wrong.",
                "Speaker Notes",
            ),
            (
                "https://staffplusnotes.com/the-quiet-work-of-sponsorship",
                "The quiet work of sponsorship",
                "Mentors give advice; sponsors spend their credibility on you. What it looks like week to week.",
                "Staff+ Notes",
            ),
            (
                "https://speakerdeck-notes.dev/rehearsing-without-memorising",
                "Rehearsing a talk without memorising it",
                "Outline cards, three run-throughs and recording yourself once. Why word-for-word scripts backfire.",
                "Speaker Notes",
            ),
        ],
        "questions": [
            (
                "First time submitting a CFP. Is it OK to propose a talk about a project that didn't fully work out?",
                [
                    "Yes! 'What we tried, what broke, what we'd do differently' talks are often the most useful ones in the programme. Reviewers love honest ones.",
                    "Be concrete in the abstract about what the audience will take away. 'Lessons learned' alone is vague; '3 signs your migration is going sideways' isn't.",
                ],
                "Ok, submitting it. Thanks both, this was the nudge I needed",
            ),
            (
                "How long should a 25-minute talk be when you rehearse it? I keep running over.",
                [
                    "Aim for 20-21 minutes in rehearsal. You'll speak slower on stage with pauses, laughs and a clicker that lags.",
                    "Cut a section rather than speeding up. Audiences forgive a short talk, never a rushed one.",
                ],
                None,
            ),
        ],
    },
    "design": {
        "articles": [
            (
                "https://designsystemsweekly.com/tokens-that-scale",
                "Design tokens that scale past one product",
                "Naming tiers (base, semantic, component) and keeping designers and engineers on the same names.",
                "Design Systems Weekly",
            ),
            (
                "https://uxledger.io/empty-states-are-onboarding",
                "Empty states are onboarding",
                "The first screen a new user sees is usually empty. Ours now teaches instead of apologising.",
                "UX Ledger",
            ),
        ],
        "questions": [
            (
                "Do we have guidance on when to use a modal vs a new page? Getting conflicting feedback in review.",
                [
                    "Rule of thumb we use: modal for short, focused tasks that relate to the current page and can be abandoned without loss. Anything with more than a few fields or its own URL-worthy state gets a page.",
                    "Also think about the back button — if people will expect it to close the thing, it probably wants to be a page.",
                ],
                "That back-button test is a great tiebreaker, thanks",
            ),
            (
                "Is there a Figma library for our icons or is everyone just copying SVGs around?",
                [
                    "There is, it's in the Design System team file under Foundations → Icons. Needs a refresh though, some of the newer ones are missing."
                ],
                None,
            ),
        ],
    },
    "product": {
        "articles": [
            (
                "https://productcraft.blog/writing-problem-statements-engineers-like",
                "Writing problem statements engineers actually like",
                "Who hurts, how we know, what 'better' means in numbers — and no solution in the first paragraph.",
                "Product Craft",
            ),
            (
                "https://productcraft.blog/saying-no-to-roadmap-requests",
                "Saying no to roadmap requests without burning bridges",
                "The 'not now, here's why, here's what would change my mind' template.",
                "Product Craft",
            ),
        ],
        "questions": [
            (
                "How do you decide what to cut when a project is clearly not going to make the date?",
                [
                    "Go back to the problem statement and ask which parts are needed for the one metric we said we'd move. Everything else is a follow-up. Then tell people early, with the new scope.",
                    "Cut scope, not quality — shipping the narrower thing well beats shipping everything half-done.",
                ],
                None,
            ),
            (
                "Anyone run customer interviews for an internal tool? Not sure how formal it needs to be.",
                [
                    "Not formal at all. 30 minutes, watch them do the task on a screen share, ask 'what did you expect to happen there'. Five people will show you most of the problems."
                ],
                None,
            ),
        ],
    },
}

# Things people ask for plainly, and who tends to respond. (text, channel, topic, responder replies)
ASKS = [
    (
        "Looking for someone to review my first conference talk — it's 25 minutes on how we moved our search to a vector index. Slides are rough but the story is there. Anyone up for a 30 min run-through next week?",
        "general",
        "talks",
        [
            "I'd be happy to! Send me the deck and pick a slot on my calendar, Tuesday or Wednesday work best.",
            "Me too if you want a second audience — I can do Thursday, happy to play the grumpy question-asker",
        ],
    ),
    (
        "Does anyone have time to pair for an hour on our Terraform module for the new VPC? I'm pretty sure I've got the subnets wrong and I'd rather learn it properly than copy-paste.",
        "infra",
        "terraform",
        ["Sure, I have time Thursday morning my time. Drop the PR link in here."],
    ),
    (
        "I'm putting together a reading list for new data engineers joining next month. What would you put on it? Books, posts, anything.",
        "data",
        "data-pipelines",
        [
            "The chapter on stream processing in the big data-systems book, no question. And our own runbook on backfills.",
            "Pipeline Post has a good series on idempotency. Happy to review the list when you have a draft.",
        ],
    ),
    (
        "Would anyone be up for a mock system design interview? I have a loop next month for a senior role (internal transfer, nothing dramatic) and I'm rusty.",
        "leads",
        "talks",
        [
            "Yes, happy to. I've run a lot of these. DM me and we'll find a time.",
            "I can do a second one with a different flavour of problem if useful",
        ],
    ),
    (
        "Looking for a second pair of eyes on an accessibility audit of the checkout flow before we share it with legal. It's about 15 findings.",
        "frontend",
        "css",
        ["Send it over, I can go through it tomorrow."],
    ),
    (
        "Could someone who's done on-call here walk me through what a good handoff note looks like? Starting my first rotation Monday.",
        "help",
        "observability",
        [
            "Happy to! The short version of mine:\n- what's ongoing and who owns it\n- what you silenced and until when\n- anything flaky you noticed\n- links to the dashboards you used",
            "Also: it's fine to escalate. Nobody minds being woken up for a real thing.",
        ],
    ),
    (
        "Anyone know a good intro to Kubernetes networking? I can deploy stuff but Services and Ingress are still magic to me.",
        "infra",
        "kubernetes",
        [],
    ),
]

CHATTER = {
    "random": [
        "Is anyone else's coffee machine on the third floor making that noise again",
        "Finally finished the Brompton rebuild. Only one screw left over, which is a personal best",
        "Lunch recommendation thread: what's good near the office that isn't the salad place?",
        "Rain again. Starting to think London weather follows me when I travel",
        "My cat just walked across the keyboard and submitted a PR review. It was approved.",
        "PSA: the big meeting room's HDMI adapter is in the drawer, not missing",
        "Who's watching the F1 race this weekend?",
        "Hot take: tabs in the office fridge should have names on them",
        "Trying sourdough for the first time this weekend, wish me luck :bread:",
        "Recommendations for a podcast that isn't about tech? Long flight coming up",
        "the cherry blossoms are done but the autumn leaves here are something else right now",
        "Happy Diwali to everyone celebrating! :diya_lamp:",
        "Anyone running the half marathon in November? Looking for training buddies",
        "Board game night Thursday, bring snacks",
        "Just realised I've been on mute for the first 5 minutes of my own demo. Good morning everyone",
        "Spring has sprung down here, 24 degrees today :sunny:",
    ],
    "general": [
        "Reminder: all-hands is Thursday at 17:00 UTC, questions in the doc beforehand please",
        "Welcome to everyone who joined this week! Say hi in here :wave:",
        "The office will be closed on Friday for the electrical work, plan accordingly",
        "Great turnout at the lunch and learn today, recording is on the wiki",
        "Heads up: expense tool migration happens this weekend, submit anything pending by Friday",
        "Thanks to everyone who helped with the incident yesterday, postmortem doc is in #eng",
    ],
    "eng": [
        "PR for the new rate limiter is up, would love eyes from anyone who touched the gateway",
        "Main is green again, sorry about that one",
        "Quick poll: do we still need the legacy export endpoint? I'd love to delete it",
        "Design doc for the notifications rewrite is ready for comments",
        "Flaky test in the billing suite is now quarantined, ticket filed",
    ],
    "infra": [
        "Starting the staging cluster upgrade now, expect some pod churn for ~20 min",
        "Certs for the internal domains renewed, nothing to do on your side",
        "Reminder: on-call handoff at 16:00 UTC today",
        "Cost report for September is out — egress is up 18%, looking into it",
    ],
    "data": [
        "Warehouse maintenance window Saturday 02:00-04:00 UTC",
        "New orders dashboard is live, feedback welcome",
        "Heads up, the events schema gets a new `source` column next week",
    ],
    "frontend": [
        "New button variants landed in the design system, docs updated",
        "Storybook is on the new version, let me know if anything looks off",
        "Lighthouse score on the landing page back up to 96 after the image changes",
    ],
    "leads": [
        "Headcount planning doc for Q1 is open for comments until Friday",
        "Can we talk about the on-call load in next week's sync? The same four people are carrying it",
        "Promo packets are due on the 30th, please nudge your folks",
        "Offsite agenda draft is in the shared folder",
    ],
}

SHARE_COMMENTS = [
    "Good read on {topic_words}: {url}",
    "This is the clearest explanation of {topic_words} I've seen {url}",
    "{url}\nmatches what we ran into last quarter almost exactly",
    "Worth 10 minutes if you work on {topic_words} {url}",
    "saw this on my feed this morning, relevant to our {topic_words} discussion last week {url}",
    "{url} — the section halfway down is the bit that matters",
    "Not sure I agree with all of it but interesting take {url}",
    "Bookmarking this for the next time someone asks about {topic_words} {url}",
    "Sharing in case it's useful {url}",
    "{url}\nwe should steal the checklist at the end",
]

SHARE_REPLIES = [
    "Thanks for sharing, the part about {topic_words} is spot on",
    "We tried something similar, happy to compare notes",
    "Saving this :bookmark:",
    "The comments on this one are good too",
    "Oh nice, I've been meaning to write something like this up for our team",
    "Hm, I think their numbers only hold for small setups, but good framing",
]

THANKS = ["thanks!", "that did it, thank you", "Thanks, super helpful", "perfect, thanks :pray:", "ty!"]

TOPIC_WORDS = {
    "postgres": "Postgres",
    "kubernetes": "Kubernetes",
    "terraform": "Terraform",
    "react": "React",
    "css": "CSS",
    "python-packaging": "Python packaging",
    "ml": "ML evaluation",
    "data-pipelines": "data pipelines",
    "observability": "observability",
    "security": "security",
    "talks": "giving talks",
    "design": "design systems",
    "product": "product planning",
}

# "Who knows about X?" asked in a channel: (day, channel, asker, text). #help has the guest in it, so
# answers there may name people but not link to channels the guest cannot read.
WHO_KNOWS = [
    (
        12,
        "general",
        "ben",
        "Who knows about Terraform state locking? Our plan keeps waiting on a stale lock.",
    ),
    (
        15,
        "general",
        "felix",
        "Does anyone know Postgres partitioning well? We're thinking of splitting the events table.",
    ),
    (
        21,
        "help",
        "chris.d",
        "Anyone have experience with Kubernetes pod disruption budgets? Draining a node keeps hanging.",
    ),
    (26, "general", "jordan", "Who here knows about public speaking? My first meetup talk is next month."),
]
# Members who agreed to be named in in-channel answers (`/passiton expertise public` in the live bot).
PUBLIC = {"maya", "dan.w", "oliver", "hannah"}
