# SPDX-License-Identifier: BSD-2-Clause
# c-string.awk - print a file as the lines of a C string literal, exactly
# its bytes (a missing final newline stays missing when final_nl=0).
# Used by embed-sql.sh and embed-file.sh.  Run with LC_ALL=C.
#
# Byte by byte: gsub replacement escaping differs between awks.
function esc(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") out = out "\\\\"
        else if (c == "\"") out = out "\\\""
        else if (c == "\r") out = out "\\r"
        else if (c == "\t") out = out "\\t"
        # "??" could read as a trigraph under strict ISO modes.
        else if (c == "?") out = out "\\?"
        else out = out c
    }
    return out
}
{ lines[NR] = $0 }
END {
    if (NR == 0) { print "    \"\";"; exit }
    for (i = 1; i <= NR; i++) {
        nl = (i < NR || final_nl == 1) ? "\\n" : ""
        printf "    \"%s%s\"%s\n", esc(lines[i]), nl, (i == NR ? ";" : "")
    }
}
