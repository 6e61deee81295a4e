"""Hand-written evaluation sets for ``benchmarks/serving.py``.

``QUERIES``: questions a developer would ask of the Python documentation corpus
(``serving_corpus.py``), each labelled with the module (``python/<name>``) or language
reference topic (``python-reference/<topic>``) that answers it. They were written from what
the standard library offers, not copied from the corpus text. Half ask in plain words;
half name an exact identifier (a constant, an error code, a function), the case where
embeddings are weakest; for those a hit must also contain the identifier.

``NEAR_MISS``: pairs of questions that read almost the same but ask different things (a
negation, an opposite verb, another number or identifier). A semantic cache must never
answer one with the other's answer. ``PARAPHRASES``: pairs that ask the same thing, which
the cache may answer from each other.
"""

from __future__ import annotations

from typing import NamedTuple


class Query(NamedTuple):
    text: str
    sources: tuple[str, ...]
    term: str | None = None  # an exact identifier the hit must contain


def _py(*names: str) -> tuple[str, ...]:
    return tuple(f"python/{n}" for n in names)


def _ref(*topics: str) -> tuple[str, ...]:
    return tuple(f"python-reference/{t}" for t in topics)


QUERIES: list[Query] = [
    # -- plain words
    Query("How do I create a temporary directory that is cleaned up automatically?", _py("tempfile")),
    Query("parse command line arguments and print a usage message", _py("argparse", "optparse", "getopt")),
    Query("compute a cryptographic hash of some bytes", _py("hashlib", "hmac")),
    Query("run an external program and capture what it prints", _py("subprocess", "os")),
    Query("save a Python object to a file and load it back later", _py("pickle", "shelve", "marshal")),
    Query("read rows from a comma separated values file", _py("csv")),
    Query("match text against a regular expression", _py("re")),
    Query("copy a whole directory tree recursively", _py("shutil")),
    Query("show the differences between two lists of lines", _py("difflib")),
    Query("generate a hard-to-guess token for a password reset link", _py("secrets")),
    Query("check whether an IP address belongs to a subnet", _py("ipaddress")),
    Query("wrap long paragraphs of text to a fixed width", _py("textwrap")),
    Query("insert into a sorted list and keep it sorted", _py("bisect")),
    Query("priority queue that always returns the smallest item", _py("heapq", "queue")),
    Query("count how many times each element occurs in a list", _py("collections")),
    Query("measure how long a small piece of code takes to run", _py("timeit", "time")),
    Query("compress data with the deflate algorithm", _py("zlib", "gzip", "zipfile")),
    Query("decimal arithmetic with exact rounding for money", _py("decimal")),
    Query("exact fractions of two integers", _py("fractions")),
    Query("mean, median and standard deviation of a sample", _py("statistics")),
    Query("find files whose names match a wildcard pattern", _py("glob", "fnmatch", "pathlib")),
    Query("split a command string the way a Unix shell would", _py("shlex")),
    Query("find out which lines of my program allocate the most memory", _py("tracemalloc")),
    Query("wait until one of several sockets is ready to read", _py("select", "selectors")),
    Query("encode binary data as printable ASCII text", _py("base64", "binascii")),
    Query("access a file's contents as if it were a bytearray in memory", _py("mmap")),
    Query("call a function from a shared C library", _py("ctypes")),
    Query("a small SQL database stored in one file", _py("sqlite3", "dbm")),
    Query("define a set of named symbolic constants", _py("enum")),
    Query("remember the results of an expensive function call", _py("functools")),
    Query("iterate over several sequences one after another without copying", _py("itertools")),
    Query("refer to an object without keeping it alive", _py("weakref")),
    Query("limit how many files a process may have open", _py("resource")),
    Query("report messages at different severity levels from an application", _py("logging", "syslog")),
    Query("run many network operations concurrently with coroutines and an event loop", _py("asyncio")),
    Query("read a TOML configuration file", _py("tomllib")),
    Query("generate __init__ and __repr__ for a class from its fields", _py("dataclasses")),
    Query("ignore one kind of exception inside a with block", _py("contextlib")),
    Query("list and extract the members of a ZIP archive", _py("zipfile", "shutil")),
    Query("how does the with statement call __enter__ and __exit__", _ref("with", "context-managers")),
    Query("does the finally clause run when the try block returns", _ref("try", "return")),
    Query("which operators bind more tightly than others", _ref("operator-summary", "power", "binary")),
    Query("when are default values of function parameters evaluated", _ref("function")),
    Query("statements like x += 1 that modify a variable in place", _ref("augassign")),
    Query("declare that a name inside a function refers to a module-level variable", _ref("global", "nonlocal")),
    # -- exact identifiers
    Query("What does SO_REUSEPORT do?", _py("socket"), "SO_REUSEPORT"),
    Query("errno ECONNREFUSED", _py("errno", "os", "socket"), "ECONNREFUSED"),
    Query("PROTOCOL_TLS_CLIENT context", _py("ssl"), "PROTOCOL_TLS_CLIENT"),
    Query("HTTPStatus IM_A_TEAPOT", _py("http"), "IM_A_TEAPOT"),
    Query("open a file with O_NOFOLLOW", _py("os", "posix"), "O_NOFOLLOW"),
    Query("handle SIGCHLD", _py("signal"), "SIGCHLD"),
    Query("ZIP_LZMA compression", _py("zipfile"), "ZIP_LZMA"),
    Query("S_ISVTX", _py("stat"), "S_ISVTX"),
    Query("flag re.DOTALL", _py("re"), "DOTALL"),
    Query("recv with MSG_PEEK", _py("socket"), "MSG_PEEK"),
    Query("PAX_FORMAT archives", _py("tarfile"), "PAX_FORMAT"),
    Query("ROUND_HALF_EVEN", _py("decimal"), "ROUND_HALF_EVEN"),
    Query("LC_NUMERIC category", _py("locale"), "LC_NUMERIC"),
    Query("asyncio.wait with return_when=FIRST_COMPLETED", _py("asyncio"), "FIRST_COMPLETED"),
    Query("disable Nagle with TCP_NODELAY", _py("socket"), "TCP_NODELAY"),
    Query("pickle.HIGHEST_PROTOCOL", _py("pickle"), "HIGHEST_PROTOCOL"),
    Query("waitpid WNOHANG", _py("os", "posix"), "WNOHANG"),
    Query("CO_COROUTINE code flag", _py("inspect", "dis"), "CO_COROUTINE"),
    Query("csv QUOTE_NONNUMERIC", _py("csv"), "QUOTE_NONNUMERIC"),
    Query("IPPROTO_IPV6", _py("socket"), "IPPROTO_IPV6"),
    Query("RLIMIT_NOFILE", _py("resource"), "RLIMIT_NOFILE"),
    Query("CLOCK_MONOTONIC_RAW", _py("time"), "CLOCK_MONOTONIC_RAW"),
    Query("EPOLLIN events", _py("select"), "EPOLLIN"),
    Query("O_CLOEXEC", _py("os", "posix"), "O_CLOEXEC"),
    Query("syslog facility LOG_LOCAL0", _py("syslog"), "LOG_LOCAL0"),
    Query("hashlib.pbkdf2_hmac iterations", _py("hashlib"), "pbkdf2_hmac"),
    Query("json JSONDecodeError", _py("json"), "JSONDecodeError"),
    Query("functools.lru_cache maxsize", _py("functools"), "lru_cache"),
    Query("itertools.groupby", _py("itertools"), "groupby"),
    Query("copytree dirs_exist_ok", _py("shutil"), "dirs_exist_ok"),
    Query("CalledProcessError returncode", _py("subprocess"), "CalledProcessError"),
    Query("heapq.nsmallest", _py("heapq"), "nsmallest"),
    Query("bisect.insort", _py("bisect"), "insort"),
    Query("enum.IntFlag", _py("enum"), "IntFlag"),
    Query("field default_factory", _py("dataclasses"), "default_factory"),
    Query("sqlite3 PARSE_DECLTYPES", _py("sqlite3"), "PARSE_DECLTYPES"),
    Query("CERT_REQUIRED verify_mode", _py("ssl"), "CERT_REQUIRED"),
    Query("getaddrinfo EAI_NONAME", _py("socket"), "EAI_NONAME"),
    Query("curses KEY_RESIZE", _py("curses"), "KEY_RESIZE"),
    Query("SCHED_FIFO scheduling policy", _py("os", "posix"), "SCHED_FIFO"),
    Query("fcntl F_GETFL", _py("fcntl"), "F_GETFL"),
    Query("termios TIOCGWINSZ", _py("termios"), "TIOCGWINSZ"),
    Query("locale.getpreferredencoding", _py("locale"), "getpreferredencoding"),
    Query("signal.SIG_IGN", _py("signal"), "SIG_IGN"),
    Query("gzip BadGzipFile", _py("gzip"), "BadGzipFile"),
    Query("lzma FORMAT_XZ", _py("lzma"), "FORMAT_XZ"),
    Query("statistics.NormalDist", _py("statistics"), "NormalDist"),
    Query("Fraction.limit_denominator", _py("fractions"), "limit_denominator"),
    Query("uuid NAMESPACE_DNS", _py("uuid"), "NAMESPACE_DNS"),
    Query("secrets.token_urlsafe", _py("secrets"), "token_urlsafe"),
    Query("zlib Z_BEST_COMPRESSION", _py("zlib"), "Z_BEST_COMPRESSION"),
    Query("mmap PROT_READ", _py("mmap"), "PROT_READ"),
    Query("textwrap.dedent", _py("textwrap"), "dedent"),
    Query("difflib.unified_diff", _py("difflib"), "unified_diff"),
    Query("weakref.finalize", _py("weakref"), "finalize"),
    Query("tracemalloc.take_snapshot", _py("tracemalloc"), "take_snapshot"),
    Query("fnmatch.translate", _py("fnmatch"), "translate"),
]

# (cached question, new question): the new one must NOT get the cached answer
NEAR_MISS: list[tuple[str, str]] = [
    ("How do I run the database migrations?", "How do I not run the database migrations?"),
    ("Run the migrations before deploying.", "Do not run the migrations before deploying."),
    ("Should I restart the ingress after a config change?", "Should I not restart the ingress after a config change?"),
    ("Why does the cache return stale answers?", "Why doesn't the cache return stale answers?"),
    ("Can I delete the bucket while replicas are running?", "Can't I delete the bucket while replicas are running?"),
    ("How do I enable TLS on the load balancer?", "How do I disable TLS on the load balancer?"),
    ("How do I start the embedding deployment?", "How do I stop the embedding deployment?"),
    ("How do I allow traffic from the office network?", "How do I deny traffic from the office network?"),
    ("How do I add a GPU node pool?", "How do I remove a GPU node pool?"),
    ("How do I increase the number of replicas?", "How do I decrease the number of replicas?"),
    ("How do I encrypt the backups?", "How do I decrypt the backups?"),
    ("Is the S3 bucket public?", "Is the S3 bucket private?"),
    ("How do I install the NVIDIA device plugin?", "How do I uninstall the NVIDIA device plugin?"),
    ("What happens before the deployment starts?", "What happens after the deployment starts?"),
    ("What is the minimum number of replicas?", "What is the maximum number of replicas?"),
    ("How do I upload documents to the store?", "How do I download documents from the store?"),
    ("How do I grant access to the cluster?", "How do I revoke access to the cluster?"),
    ("How do I lock the state file?", "How do I unlock the state file?"),
    ("Which port does the dashboard use, 8265?", "Which port does the dashboard use, 8266?"),
    ("What does error E0425 mean?", "What does error E0426 mean?"),
    ("What does policy CMP0048 change?", "What does policy CMP0049 change?"),
    ("How much does a g5.xlarge cost per hour?", "How much does a g5.2xlarge cost per hour?"),
    ("How do I upgrade to Ray 2.9?", "How do I upgrade to Ray 2.10?"),
    ("Set max_tokens to 256 for the tiny model.", "Set max_tokens to 512 for the tiny model."),
    ("How do I configure SSL for Redis?", "How do I configure TLS for Redis?"),
    ("What does HTTP status 404 mean?", "What does HTTP status 403 mean?"),
    ("How do I connect to the staging cluster?", "How do I connect to the production cluster?"),
    ("Deploy the stack to us-east-1.", "Deploy the stack to eu-west-1."),
    ("How do I scale up the GPU pool?", "How do I scale down the GPU pool?"),
    ("How do I import a key into KMS?", "How do I export a key from KMS?"),
    ("Is the model output valid JSON?", "Is the model output invalid JSON?"),
    ("How do I read the secret from Vault?", "How do I write the secret to Vault?"),
    ("Which is the primary region?", "Which is the secondary region?"),
    ("List inbound security group rules.", "List outbound security group rules."),
    ("How do I show hidden files?", "How do I hide hidden files?"),
    ("Why does the request succeed?", "Why does the request fail?"),
    ("Never cache answers for this team.", "Always cache answers for this team."),
    ("How do I attach the volume to the node?", "How do I detach the volume from the node?"),
    ("How do I pause the ingest job?", "How do I resume the ingest job?"),
    ("Sort the results in ascending order.", "Sort the results in descending order."),
]

# (cached question, new question): the same question in other words; a hit is fine
PARAPHRASES: list[tuple[str, str]] = [
    ("How do I run the database migrations?", "how do I run the database migrations"),
    ("How do I rotate the API keys?", "How can I rotate the API keys?"),
    ("What is the default port of the dashboard?", "What's the default port of the dashboard?"),
    ("How do I enable TLS on the load balancer?", "How to enable TLS on the load balancer?"),
    ("Which index does PostgreSQL use for cosine search?", "Which index does Postgres use for cosine search?"),
    ("How do I add a GPU node pool?", "How do I add a GPU node pool to the cluster?"),
    ("How much does a g5.xlarge cost per hour?", "What does a g5.xlarge cost per hour?"),
    ("What does policy CMP0048 change?", "What changes with policy CMP0048?"),
    ("How do I increase the number of replicas?", "How can I increase the number of replicas?"),
    ("Why does the cache return stale answers?", "Why is the cache returning stale answers?"),
    ("How do I upload documents to the store?", "How do I upload documents into the store?"),
    ("How do I start the embedding deployment?", "How do I start the embeddings deployment?"),
    ("What is the maximum number of replicas?", "What's the maximum number of replicas?"),
    ("How do I lock the state file?", "how do i lock the state file?"),
    ("Deploy the stack to us-east-1.", "Please deploy the stack to us-east-1."),
    ("How do I configure TLS for Redis?", "How do I set up TLS for Redis?"),
    ("How do I connect to the staging cluster?", "How can I connect to the staging cluster?"),
    ("What does error E0425 mean?", "What is the meaning of error E0425?"),
    ("How do I pause the ingest job?", "How can I pause the ingest job?"),
    ("Which is the primary region?", "Which region is the primary one?"),
]
