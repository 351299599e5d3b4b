"""word2vec.c's command line, translated into `w2v train`'s: a script that ran the C tool changes
only its first word. With the C tool's spellings its meanings and defaults apply."""

from w2v.errors import W2VError

# word2vec.c's flags: each takes one value, parsed as this type.
C_FLAGS: dict[str, type] = {
    "-train": str, "-output": str, "-size": int, "-window": int, "-sample": float, "-hs": int,
    "-negative": int, "-threads": int, "-iter": int, "-min-count": int, "-alpha": float,
    "-cbow": int, "-binary": int, "-save-vocab": str, "-read-vocab": str, "-debug": int,
    "-classes": int,
}
# Flags whose value passes straight to one of our options (TrainConfig's or train's own).
_C_TO_OURS = {
    "-size": "--vector-size", "-window": "--window", "-sample": "--sample", "-hs": "--hs",
    "-negative": "--negative", "-threads": "--workers", "-iter": "--epochs",
    "-min-count": "--min-count", "-save-vocab": "--save-vocab", "-read-vocab": "--read-vocab",
}
# word2vec.c's defaults where they are not already TrainConfig's (-threads keeps ours: all cores).
_C_DEFAULTS = {"-size": 100, "-window": 5, "-sample": 1e-3, "-hs": 0, "-negative": 5, "-iter": 5,
               "-min-count": 5, "-cbow": 1, "-binary": 0}


def is_c_tool_argv(argv: list[str]) -> bool:
    """Whether train's arguments use word2vec.c's spellings: a single-dash word such as -train
    first, or any of its known flags anywhere (to report a mix with ours)."""
    if not argv:
        return False
    first = argv[0]
    single_dash_word = (first.startswith("-") and not first.startswith("--") and len(first) > 2
                        and not first[1:2].isdigit())
    return single_dash_word or any(a in C_FLAGS for a in argv)


def _c_value(flag: str, text: str) -> str | int | float:
    kind = C_FLAGS[flag]
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise W2VError(f"word2vec.c option {flag} expects {what}, got {text!r}") from None


def _c_binary(flag: str, value: str | int | float) -> int:
    if value not in (0, 1):
        raise W2VError(f"word2vec.c option {flag} must be 0 or 1, got {value}")
    return int(value)


def c_tool_argv(argv: list[str]) -> list[str]:
    """Translate word2vec.c's command line (the arguments after `train`) into ours.

    `-train text8 -output vec.bin -cbow 1 -size 200 ...` becomes `text8 -o vec.bin --sg 0
    --vector-size 200 ... --output-format text|binary`, with the C tool's defaults for what is
    not given, its learning rate rule (-alpha 0.05 for CBOW, 0.025 for skip-gram, decaying to
    alpha * 1e-4) and -binary (default 0: text) deciding the output format, not the suffix.
    """
    values: dict[str, str | int | float] = {}
    i = 0
    while i < len(argv):
        flag = argv[i]
        if flag.startswith("--") or flag in ("-o", "-h"):
            raise W2VError(
                f"{flag} is a w2v option but the command uses word2vec.c's spellings (-train, "
                "-size, ...); use one style: either word2vec.c's flags only, or "
                "'w2v train CORPUS -o OUT --option VALUE'"
            )
        if flag not in C_FLAGS:
            if not flag.startswith("-"):
                raise W2VError(
                    f"unexpected {flag!r}: with word2vec.c's spellings every argument is a flag "
                    "and its value (the corpus is -train FILE); use one style, not both"
                )
            raise W2VError(f"unknown word2vec.c option {flag}; w2v train accepts "
                           f"{' '.join(C_FLAGS)}")
        if i + 1 >= len(argv) or argv[i + 1] in C_FLAGS:
            raise W2VError(f"word2vec.c option {flag} needs a value")
        if flag in values:
            raise W2VError(f"word2vec.c option {flag} is given twice")
        values[flag] = _c_value(flag, argv[i + 1])
        i += 2
    for flag in ("-train", "-output"):
        if flag not in values:
            raise W2VError(f"word2vec.c option {flag} FILE is missing; w2v train needs "
                           "-train CORPUS and -output VECTORS")
    if values.get("-classes", 0) != 0:
        raise W2VError("-classes (k-means word classes) is not supported: w2v writes word "
                       "vectors only; drop -classes or give -classes 0")
    values = {**_C_DEFAULTS, **values}
    cbow = _c_binary("-cbow", values["-cbow"])
    binary = _c_binary("-binary", values["-binary"])
    alpha = float(values.get("-alpha", 0.05 if cbow else 0.025))
    ours = [str(values["-train"]), "-o", str(values["-output"]),
            "--output-format", "binary" if binary else "text", "--sg", str(1 - cbow),
            # word2vec.c decays alpha linearly towards 0, never below alpha * 1e-4.
            "--alpha", repr(alpha), "--min-alpha", repr(alpha * 1e-4)]
    for flag, option in _C_TO_OURS.items():
        if flag in values:
            ours += [option, str(values[flag])]
    if values.get("-debug") == 0:
        ours.append("--quiet")
    return ours
