SELECT resource.resource_type, resource.resource_id 
FROM resource 
WHERE resource.deleted IS false AND resource.resource_type = 'Patient' AND resource.resource_id IN (SELECT index_reference_1.target_id 
FROM index_reference AS index_reference_1 
WHERE index_reference_1.resource_type = 'Observation' AND index_reference_1.param = 'subject' AND index_reference_1.target_type = 'Patient' AND index_reference_1.target_type = 'Patient' AND index_reference_1.url IS NULL AND index_reference_1.resource_id IN (SELECT resource_1.resource_id 
FROM resource AS resource_1 
WHERE resource_1.resource_type = 'Observation' AND resource_1.deleted IS false AND (EXISTS (SELECT * 
FROM index_token AS index_token_1 
WHERE index_token_1.resource_type = 'Observation' AND index_token_1.param = 'code' AND index_token_1.resource_id = resource_1.resource_id AND index_token_1.code = '8480-6')))) ORDER BY resource.resource_id ASC NULLS LAST, resource.resource_type, resource.resource_id
