SELECT resource.resource_type, resource.resource_id 
FROM resource 
WHERE resource.deleted IS false AND resource.resource_type = 'Patient' AND (EXISTS (SELECT * 
FROM index_string AS index_string_1 
WHERE index_string_1.resource_type = 'Patient' AND index_string_1.resource_id = resource.resource_id AND index_string_1.param = 'name' AND index_string_1.value_folded LIKE 'odegard%%' ESCAPE '\')) AND (EXISTS (SELECT * 
FROM index_date AS index_date_1 
WHERE index_date_1.resource_type = 'Patient' AND index_date_1.resource_id = resource.resource_id AND index_date_1.param = 'birthdate' AND index_date_1.low_us >= 315529200000000 AND index_date_1.high_us <= 347151600000000)) ORDER BY resource.last_updated_us DESC NULLS LAST, resource.resource_type, resource.resource_id
