{{ sudata.unusable_value_counts() }}
