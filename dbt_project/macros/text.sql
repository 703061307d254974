{#
    Text normalisation shared by every staging model.

    Raw columns arrive as text exactly as delivered (untrimmed, full-width characters, decorations).
    Everything here is portable SQL (translate, replace, trim, substr, length, upper) plus one
    dispatched helper for string literals, because Spark SQL escapes with backslashes.
#}

{% macro sql_literal(value) -%}
    {{ return(adapter.dispatch('sql_literal', 'sudata')(value)) }}
{%- endmacro %}

{% macro default__sql_literal(value) -%}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}

{% macro spark__sql_literal(value) -%}
    {{ return("'" ~ (value | string).replace("\\", "\\\\").replace("'", "\\'") ~ "'") }}
{%- endmacro %}


{# Full-width ASCII (U+FF01..U+FF5E) → ASCII (U+0021..U+007E), ideographic space (U+3000) → space. #}
{% macro to_halfwidth(col) -%}
    {%- set full_width = '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　' -%}
    {%- set half_width = '!"#$%&' ~ "'" ~ '()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ' -%}
    translate({{ col }}, {{ sudata.sql_literal(full_width) }}, {{ sudata.sql_literal(half_width) }})
{%- endmacro %}


{#
    Full-width letters, digits and symbols → ASCII, but the full-width marks that Chinese writing uses as
    its punctuation (GB/T 15834: ！（），：；？～) kept as they are, so that free text reads as it was written.
#}
{% macro to_halfwidth_keeping_punctuation(col) -%}
    {%- set full_width = '＂＃＄％＆＇＊＋－．／０１２３４５６７８９＜＝＞＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝　' -%}
    {%- set half_width = '"#$%&' ~ "'" ~ '*+-./0123456789<=>@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|} ' -%}
    translate({{ col }}, {{ sudata.sql_literal(full_width) }}, {{ sudata.sql_literal(half_width) }})
{%- endmacro %}


{# Trimmed (including tabs and line breaks at the ends), empty → null. #}
{% macro trimmed_text(col) -%}
    nullif(trim(translate({{ col }}, {{ sudata.sql_literal('\t\r\n') }}, '   ')), '')
{%- endmacro %}


{# Half-width, trimmed: the form codes, numbers, dates and names are parsed and compared in. #}
{% macro clean_text(col) -%}
    {{ sudata.trimmed_text(sudata.to_halfwidth(col)) }}
{%- endmacro %}


{# Free text (descriptions, addresses): trimmed, letters and digits half-width, Chinese punctuation kept. #}
{% macro clean_free_text(col) -%}
    {{ sudata.trimmed_text(sudata.to_halfwidth_keeping_punctuation(col)) }}
{%- endmacro %}


{#
    A name (of a person, an organisation, a place): clean_text, and when it holds no Latin letter —
    a Chinese name, where a space is never part of the name — every inner space removed too
    (苏州　市第一中学 → 苏州市第一中学, 张 三 → 张三), while "Bosch (Suzhou) Co." keeps its spaces.
#}
{% macro clean_name(col) -%}
    {{ sudata.name_from_clean_text(sudata.clean_text(col)) }}
{%- endmacro %}

{# clean_name's last step, on text that is already clean_text (t is referenced four times: pass a column). #}
{% macro name_from_clean_text(t) -%}
    {%- set latin = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' -%}
    (case when translate({{ t }}, '{{ latin }}', '') = {{ t }} then replace({{ t }}, ' ', '') else {{ t }} end)
{%- endmacro %}


{# A code or identifier: clean_text, upper case, inner spaces and hyphens removed. #}
{% macro clean_code(col, keep_hyphens=false) -%}
    {{ sudata.code_from_clean_text(sudata.clean_text(col), keep_hyphens) }}
{%- endmacro %}

{# clean_code's last step, on text that is already clean_text. #}
{% macro code_from_clean_text(t, keep_hyphens=false) -%}
    {%- if keep_hyphens -%}
    nullif(upper(replace({{ t }}, ' ', '')), '')
    {%- else -%}
    nullif(upper(replace(replace({{ t }}, ' ', ''), '-', '')), '')
    {%- endif -%}
{%- endmacro %}


{# True when expr is a non-empty string of ASCII digits (portable: no regular expressions). #}
{% macro is_digits(expr) -%}
    (length({{ expr }}) > 0 and translate({{ expr }}, '0123456789', '') = '')
{%- endmacro %}


{#
    A phone number in one canonical form, or null when it is not one:
    mobile → 11 digits (13812345678); landline with area code → 0512-68881234; local number → digits.
    Accepts +86 / 0086 prefixes, spaces, hyphens, dots and parentheses around the area code.
    col is text already passed through clean_text (staging does that in its `cleaned` CTE).
#}
{% macro clean_phone(col) -%}
    {{ sudata.phone_from_digits(sudata.phone_digits(col)) }}
{%- endmacro %}

{# clean_phone's first step: the delivered phone's characters without separators and country prefix. #}
{% macro phone_digits(col) -%}
    {%- set stripped -%}
        replace(replace(replace(replace(replace(replace({{ col }}, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', '')
    {%- endset -%}
    case
        when substr({{ stripped }}, 1, 4) = '0086' then substr({{ stripped }}, 5)
        when substr({{ stripped }}, 1, 2) = '86' and length({{ stripped }}) = 13 then substr({{ stripped }}, 3)
        else {{ stripped }}
    end
{%- endmacro %}

{# clean_phone's last step, on phone_digits (referenced many times: in a model, pass a column). #}
{% macro phone_from_digits(digits) -%}
    case
        when not {{ sudata.is_digits(digits) }} then null
        when length({{ digits }}) = 11 and substr({{ digits }}, 1, 1) = '1' then {{ digits }}
        when substr({{ digits }}, 1, 1) = '0' and substr({{ digits }}, 2, 1) in ('1', '2') and length({{ digits }}) between 10 and 11
            then {{ dbt.concat(["substr(" ~ digits ~ ", 1, 3)", "'-'", "substr(" ~ digits ~ ", 4)"]) }}
        when substr({{ digits }}, 1, 1) = '0' and length({{ digits }}) between 10 and 12
            then {{ dbt.concat(["substr(" ~ digits ~ ", 1, 4)", "'-'", "substr(" ~ digits ~ ", 5)"]) }}
        when length({{ digits }}) between 7 and 8 then {{ digits }}
    end
{%- endmacro %}


{# True when a canonical phone (see clean_phone) is a mobile number. #}
{% macro is_mobile_phone(col) -%}
    (length({{ col }}) = 11 and substr({{ col }}, 1, 1) = '1' and {{ sudata.is_digits(col) }})
{%- endmacro %}
