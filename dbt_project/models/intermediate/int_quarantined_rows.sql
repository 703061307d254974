{{ sudata.quarantined_rows() }}
