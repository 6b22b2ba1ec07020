SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT DISTINCT index_reference_1.resource_type AS resource_type, index_reference_1.resource_id AS resource_id 
FROM index_reference AS index_reference_1 
WHERE index_reference_1.resource_type = 'Observation' AND index_reference_1.param = 'subject' AND index_reference_1.url IS NULL AND index_reference_1.target_type = 'Patient' AND index_reference_1.target_id IN (SELECT resource_1.resource_id 
FROM resource AS resource_1 
WHERE resource_1.resource_type = 'Patient' AND resource_1.deleted IS false AND (EXISTS (SELECT * 
FROM index_token AS index_token_1 
WHERE index_token_1.resource_type = 'Patient' AND index_token_1.param = 'identifier' AND index_token_1.resource_id = resource_1.resource_id AND index_token_1.system = 'urn:oid:2.16.578.1.12.4.1.4.1' AND index_token_1.code = '12345678901')))) AS anon_1 ORDER BY anon_1.resource_id ASC NULLS LAST, anon_1.resource_type, anon_1.resource_id
