SELECT resource.resource_type, resource.resource_id 
FROM resource 
WHERE resource.deleted IS false AND resource.resource_type = 'Condition' AND (EXISTS (SELECT * 
FROM index_token AS index_token_1 
WHERE index_token_1.resource_type = 'Condition' AND index_token_1.resource_id = resource.resource_id AND index_token_1.param = 'code' AND index_token_1.system = 'http://snomed.info/sct' AND index_token_1.code = '44054006')) ORDER BY resource.last_updated_us DESC NULLS LAST, resource.resource_type, resource.resource_id
