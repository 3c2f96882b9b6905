/* The shared consumer program (see ../drive_workflow.c). */
#include "../drive_workflow.c"
