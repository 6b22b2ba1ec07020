SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT DISTINCT index_reference_1.resource_type AS resource_type, index_reference_1.resource_id AS resource_id 
FROM index_reference AS index_reference_1 
WHERE index_reference_1.resource_type = 'Observation' AND index_reference_1.param = 'subject' AND index_reference_1.target_id = 'p1' AND index_reference_1.target_type = 'Patient' AND (index_reference_1.url IS NULL OR index_reference_1.url = 'http://example.org/fhir/Patient/p1')) AS anon_1 
WHERE (EXISTS (SELECT 1 
FROM index_token AS index_token_1 
WHERE index_token_1.resource_type = 'Observation' AND (index_token_1.param || '') = 'code' AND index_token_1.resource_id = anon_1.resource_id AND index_token_1.system = 'http://loinc.org' AND index_token_1.code = '8480-6'
 LIMIT ALL OFFSET 0)) AND (EXISTS (SELECT 1 
FROM index_date AS index_date_1 
WHERE index_date_1.resource_type = 'Observation' AND (index_date_1.param || '') = 'date' AND index_date_1.resource_id = anon_1.resource_id AND (index_date_1.high_us > 1704150000000000 OR index_date_1.low_us >= 1704063600000000 AND index_date_1.high_us <= 1704150000000000)
 LIMIT ALL OFFSET 0)) AND (EXISTS (SELECT 1 
FROM index_date AS index_date_2 
WHERE index_date_2.resource_type = 'Observation' AND (index_date_2.param || '') = 'date' AND index_date_2.resource_id = anon_1.resource_id AND (index_date_2.low_us < 1735599600000000 OR index_date_2.low_us >= 1735599600000000 AND index_date_2.high_us <= 1735686000000000)
 LIMIT ALL OFFSET 0)) ORDER BY anon_1.resource_id ASC NULLS LAST, anon_1.resource_type, anon_1.resource_id
