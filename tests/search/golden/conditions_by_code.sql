SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT DISTINCT index_token_1.resource_type AS resource_type, index_token_1.resource_id AS resource_id 
FROM index_token AS index_token_1 
WHERE index_token_1.resource_type = 'Condition' AND index_token_1.param = 'code' AND index_token_1.system = 'http://snomed.info/sct' AND index_token_1.code = '44054006') AS anon_1 ORDER BY anon_1.resource_id ASC NULLS LAST, anon_1.resource_type, anon_1.resource_id
