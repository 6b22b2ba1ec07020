SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT DISTINCT index_string_1.resource_type AS resource_type, index_string_1.resource_id AS resource_id 
FROM index_string AS index_string_1 
WHERE index_string_1.resource_type = 'Patient' AND index_string_1.param = 'name' AND index_string_1.value_folded LIKE 'odegard%%' ESCAPE '\') AS anon_1 
WHERE EXISTS (SELECT 1 
FROM index_date AS index_date_1 
WHERE index_date_1.resource_type = 'Patient' AND (index_date_1.param || '') = 'birthdate' AND index_date_1.resource_id = anon_1.resource_id AND index_date_1.low_us >= 315529200000000 AND index_date_1.high_us <= 347151600000000
 LIMIT ALL OFFSET 0) ORDER BY anon_1.resource_id ASC NULLS LAST, anon_1.resource_type, anon_1.resource_id
